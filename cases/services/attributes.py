from cases.models import AttributeType, Case, CaseAttribute
from cases.services.common import (
    bad_request,
    child_errors,
    item_ids,
    set_fields,
    validate_child,
)
from cases.services.events import system_event
from cti.api.inputs import NestedItems


def _attribute_type(name) -> AttributeType:
    found = AttributeType.objects.filter(name__iexact=str(name or "").strip()).first()
    if found is None:
        raise bad_request(f"Unknown attribute type {name!r}.")
    return found


def _check(attribute_type: AttributeType, value: str, case: Case, adding: int = 1) -> None:
    if value is None or not str(value).strip():
        raise bad_request("Attribute value must not be empty.")
    if len(value) > attribute_type.max_size:
        raise bad_request(
            f"Attribute value is longer than {attribute_type.max_size} characters "
            f"(type {attribute_type.name})."
        )
    if attribute_type.max_allowed:
        present = CaseAttribute.objects.filter(case=case, attribute_type=attribute_type).count()
        if present + adding > attribute_type.max_allowed:
            raise bad_request(
                f"A case may have at most {attribute_type.max_allowed} "
                f"{attribute_type.name!r} attribute(s)."
            )


def case_attribute_create(*, user, data: dict) -> CaseAttribute:
    from cases.services.cases import case_from_ids

    case = case_from_ids(data, user)
    attribute_type = _attribute_type(data.get("type"))
    _check(attribute_type, data.get("value"), case)
    attribute = CaseAttribute(
        case=case, attribute_type=attribute_type, created_by=user if user.is_authenticated else None
    )
    set_fields(attribute, data, ("value", "source", "default", "pinned"))
    attribute.save()
    system_event(case, f"Attribute added: {attribute_type.name}", user, about=attribute)
    return attribute


def case_attribute_update(*, user, instance: CaseAttribute, data: dict) -> CaseAttribute:
    if "value" in data:
        _check(instance.attribute_type, data["value"], instance.case, adding=0)
    set_fields(instance, data, ("value", "source", "default", "pinned"))
    instance.save()
    return instance


def case_attribute_delete(*, user, instance: CaseAttribute, data: dict) -> None:
    instance.delete()


def apply_attributes(case: Case, items: NestedItems, user, *, updating: bool) -> None:
    mode = (items.mode or "append") if updating else "append"
    ids = item_ids(items.items, "attributes")
    if mode == "delete":
        case.attributes.filter(pk__in=ids).delete()
        return
    if mode == "replace":
        case.attributes.exclude(pk__in=ids).delete()
    for n, item in enumerate(items.items):
        if item.get("id") is not None:
            continue
        data = validate_child("caseAttributes", item, {"caseId": case.pk}, f"attributes[{n}]")
        with child_errors(f"attributes[{n}]"):
            case_attribute_create(user=user, data=data)
