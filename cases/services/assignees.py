from cases.choices import AssigneeTypeChoices
from cases.services.common import bad_request
from cti.security.models import User, UserGroup


def resolve_assignee(value: dict | None) -> tuple[User | None, UserGroup | None]:
    """`{"type": "User", "data": {"userName"|"id": ...}}`, `{"type": "Group", "data":
    {"name"|"id": ...}}` or `{"type": "None"}` (unassigned)."""
    if not value:
        return None, None
    kind = str(value.get("type", "")).strip().lower()
    data = value.get("data") or {}
    if not isinstance(data, dict):
        raise bad_request("assignee.data must be an object.")
    if kind == AssigneeTypeChoices.NONE.lower():
        return None, None
    if kind == AssigneeTypeChoices.USER.lower():
        user = None
        if data.get("id") is not None:
            user = User.objects.filter(pk=_int(data["id"])).first()
        elif data.get("userName"):
            user = User.objects.filter(username=data["userName"]).first()
        if user is None:
            raise bad_request(f"assignee user not found: {data!r}")
        return user, None
    if kind == AssigneeTypeChoices.GROUP.lower():
        group = None
        if data.get("id") is not None:
            group = UserGroup.objects.filter(pk=_int(data["id"])).first()
        elif data.get("name"):
            group = UserGroup.objects.filter(name=data["name"]).first()
        if group is None:
            raise bad_request(f"assignee group not found: {data!r}")
        return None, group
    raise bad_request("assignee.type must be User, Group or None.")


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"invalid id {value!r}") from None


def apply_assignee(instance, value: dict | None) -> bool:
    user, group = resolve_assignee(value)
    changed = (instance.assignee_user_id, instance.assignee_group_id) != (
        user.pk if user else None,
        group.pk if group else None,
    )
    instance.assignee_user, instance.assignee_group = user, group
    return changed
