from django.db.models import QuerySet

from cti.api.errors import ErrCode, V3Error
from cti.ingest.models import DeadLetter, WebhookSource


def dead_letters(*, status: str | None = None, source: str | None = None) -> QuerySet:
    letters = DeadLetter.objects.select_related("source").order_by("-received", "-pk")
    if status:
        letters = letters.filter(status=status)
    if source:
        letters = letters.filter(source__slug=source)
    return letters


def dead_letter(pk: str) -> DeadLetter:
    letter = DeadLetter.objects.select_related("source", "actor").filter(
        pk=int(pk) if str(pk).isdigit() else None
    )
    found = letter.first()
    if found is None:
        raise V3Error(f"Dead letter {pk!r} not found.", ErrCode.NOT_FOUND)
    return found


def webhook_source(slug: str) -> WebhookSource | None:
    return WebhookSource.objects.select_related("system", "owner").filter(slug=slug).first()
