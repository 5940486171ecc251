from django.utils import timezone

from cases.models import Case, Tag
from cases.services.common import bad_request, child_errors, item_ids, set_fields
from cti.api.inputs import NestedItems
from cti.api.params import parse_pk
from cti.security.services import default_owner, owner_for_write

TECHNIQUE_PREFIX = ("T",)


def _technique_id(name: str) -> str | None:
    head = name.split(" ", 1)[0].strip()
    if head[:1] == "T" and head[1:5].isdigit() and len(head) in (5, 9):
        return head
    return None


def tag_get_or_create(name: str, owner=None, description: str = "") -> Tag:
    name = (name or "").strip()
    if not name:
        raise bad_request("Tag name must not be empty.")
    if len(name) > 128:
        raise bad_request("Tag name is longer than 128 characters.")
    owner = owner or default_owner()
    tag, _ = Tag.objects.get_or_create(
        owner=owner,
        name=name,
        defaults={"description": description, "technique_id": _technique_id(name)},
    )
    return tag


def _resolve(items: list[dict], owner) -> list[Tag]:
    tags = []
    for n, item in enumerate(items):
        with child_errors(f"tags[{n}]"):
            if item.get("id") is not None:
                tag_id = item["id"]
                pk = parse_pk(tag_id)
                found = pk is not None and Tag.objects.filter(pk=pk, owner=owner).first()
                if not found:
                    raise bad_request(f"Tag {tag_id!r} not found.")
                tag = found
            else:
                tag = tag_get_or_create(item.get("name", ""), owner)
        tags.append(tag)
    return tags


def apply_tags(case: Case, items: NestedItems, user, *, updating: bool) -> None:
    mode = (items.mode or "append") if updating else "append"
    if mode == "delete":
        names = [i["name"] for i in items.items if i.get("name")]
        ids = item_ids(items.items, "tags")
        case.tags.remove(*case.tags.filter(name__in=names), *case.tags.filter(pk__in=ids))
        return
    tags = _resolve(items.items, case.owner)
    if mode == "replace":
        case.tags.set(tags)
    else:
        case.tags.add(*tags)
    Tag.objects.filter(pk__in=[t.pk for t in tags]).update(last_used=timezone.now())


def tag_create(*, user, data: dict) -> Tag:
    owner = owner_for_write(user, data)
    if Tag.objects.filter(owner=owner, name=(data.get("name") or "").strip()).exists():
        raise bad_request(f"Tag {data.get('name')!r} already exists.")
    return tag_get_or_create(data.get("name", ""), owner, data.get("description") or "")


def tag_update(*, user, instance: Tag, data: dict) -> Tag:
    renamed = data.get("name") and data["name"] != instance.name
    if renamed and Tag.objects.filter(owner=instance.owner, name=data["name"]).exists():
        raise bad_request(f"Tag {data['name']!r} already exists.")
    set_fields(instance, data, ("name", "description"))
    instance.save()
    return instance


def tag_delete(*, user, instance: Tag, data: dict) -> None:
    instance.delete()
