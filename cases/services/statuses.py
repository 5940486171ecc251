"""Administrator-defined detailed statuses per case type, and setting one on a case."""

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from cases.choices import CaseStatusChoices, CaseTypeChoices
from cases.models import Case, CaseStatusTemplate
from cases.services.common import bad_request, set_fields
from cti.api.errors import ErrCode, V3Error

FIELDS = ("case_type", "name", "order", "closes_case")


def statuses_for(case_type: str) -> QuerySet:
    """The detailed statuses a case of the type may have, in display order (type-specific
    statuses before those for every type at the same position)."""
    return CaseStatusTemplate.objects.filter(Q(case_type=case_type) | Q(case_type="")).order_by(
        "order", "-case_type", "name"
    )


def resolve_detailed_status(case: Case, name: str | None) -> CaseStatusTemplate | None:
    """The status called `name` for the case's type, or a 400 listing the allowed ones."""
    if name is None or name == "":
        return None
    allowed = list(statuses_for(case.case_type or ""))
    match = next((s for s in allowed if s.name == name and s.case_type), None) or next(
        (s for s in allowed if s.name == name), None
    )
    if match is None:
        names = ", ".join(repr(s.name) for s in allowed) or "none are defined"
        raise bad_request(
            f"detailedStatus {name!r} is not a status for case type "
            f"{case.case_type or '(none)'!r}; allowed: {names}."
        )
    return match


def apply_detailed_status(case: Case, data: dict) -> str | None:
    """Set the detailed status named in `data` (already on the unsaved case's type) and return
    the case status it implies: Closed for a status that closes the case, else None."""
    if "detailed_status" not in data:
        return None
    status = resolve_detailed_status(case, data["detailed_status"])
    case.detailed_status = status
    return CaseStatusChoices.CLOSED if status and status.closes_case else None


def _save(template: CaseStatusTemplate) -> CaseStatusTemplate:
    if not template.name.strip():
        raise bad_request("name must not be empty.")
    if template.case_type and template.case_type not in CaseTypeChoices.values:
        allowed = ", ".join(repr(v) for v in CaseTypeChoices.values)
        raise bad_request(f"caseType must be blank (every type) or one of {allowed}.")
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError:
        raise V3Error(
            f"A status {template.name!r} already exists for case type "
            f"{template.case_type or '(all types)'!r}.",
            ErrCode.CONFLICT,
        ) from None
    return template


def status_template_create(*, user, data: dict) -> CaseStatusTemplate:
    template = CaseStatusTemplate()
    set_fields(template, data, FIELDS)
    return _save(template)


def status_template_update(*, user, instance: CaseStatusTemplate, data: dict):
    template = CaseStatusTemplate.objects.select_for_update().get(pk=instance.pk)
    if set_fields(template, data, FIELDS):
        _save(template)
    return template


def status_template_delete(*, user, instance: CaseStatusTemplate, data: dict) -> None:
    instance.delete()
