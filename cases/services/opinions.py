"""Users' opinions on cases: one per user and case; a second POST updates the first."""

from cases.models import CaseOpinion
from cases.services.common import bad_request
from cases.services.events import system_event
from cti.api.errors import ErrCode, V3Error


def opinion_create(*, user, data: dict) -> CaseOpinion:
    """Upsert the caller's opinion on the case. Concurrent POSTs by the same user meet at the
    (case, author) unique constraint: update_or_create locks the row or, when two inserts race,
    re-reads the row the winner inserted, so the user keeps exactly one opinion."""
    from cases.services.cases import case_from_ids

    if not (user and user.is_authenticated):
        raise V3Error("An opinion needs an authenticated author.", ErrCode.FORBIDDEN)
    case = case_from_ids(data, user)
    values = {"opinion": data["opinion"]}
    if "explanation" in data:
        values["explanation"] = data["explanation"] or ""
    opinion, created = CaseOpinion.objects.update_or_create(case=case, author=user, defaults=values)
    opinion.was_created = created
    verb = "Added" if created else "Changed"
    system_event(case, f"{verb} an opinion ({opinion.opinion})", user)
    return opinion


def _check_author(user, instance: CaseOpinion, verb: str, *, admin_ok: bool) -> None:
    if instance.author_id == getattr(user, "pk", None):
        return
    if admin_ok and getattr(user, "is_administrator", False):
        return
    raise V3Error(f"Only the author may {verb} an opinion.", ErrCode.FORBIDDEN)


def opinion_update(*, user, instance: CaseOpinion, data: dict) -> CaseOpinion:
    _check_author(user, instance, "change", admin_ok=False)
    opinion = CaseOpinion.objects.select_for_update().get(pk=instance.pk)
    if data.get("opinion") is not None:
        opinion.opinion = data["opinion"]
    if "explanation" in data:
        opinion.explanation = data["explanation"] or ""
    if not opinion.opinion:
        raise bad_request("opinion must not be empty.")
    opinion.save()
    return opinion


def opinion_delete(*, user, instance: CaseOpinion, data: dict) -> None:
    _check_author(user, instance, "delete", admin_ok=True)
    instance.delete()
