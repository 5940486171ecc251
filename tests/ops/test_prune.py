"""ops.prune: Idempotency-Keys, handled events and (with a retention set) audit entries are kept
for a while, then forgotten."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cti.audit.models import AuditEntry
from cti.events.choices import EventKind
from cti.events.models import Event
from cti.ingest.models import IdempotencyRecord
from cti.ops.tasks import prune

pytestmark = pytest.mark.django_db


def test_old_keys_and_handled_events_go_the_rest_stays(settings):
    settings.CTI_IDEMPOTENCY_KEEP_HOURS = 24
    settings.CTI_EVENTS_KEEP_DAYS = 7
    now = timezone.now()
    for n, age in enumerate((timedelta(hours=30), timedelta(hours=2))):
        record = IdempotencyRecord.objects.create(
            scope="webhook:x", key=f"k{n}", request_hash="h", status_code=200
        )
        IdempotencyRecord.objects.filter(pk=record.pk).update(created=now - age)
    kept_key = IdempotencyRecord.objects.get(key="k1")

    def event(processed=None, parked=False) -> Event:
        return Event.objects.create(
            kind=EventKind.CASE_CREATED,
            object_type="case",
            object_id=1,
            processed=processed,
            parked=parked,
        )

    old = event(processed=now - timedelta(days=8))
    recent = event(processed=now - timedelta(days=1))
    pending = event()
    parked = event(parked=True)
    Event.objects.filter(pk__in=[pending.pk, parked.pk]).update(created=now - timedelta(days=30))

    prune()

    assert list(IdempotencyRecord.objects.all()) == [kept_key]
    assert set(Event.objects.values_list("pk", flat=True)) == {recent.pk, pending.pk, parked.pk}
    assert not Event.objects.filter(pk=old.pk).exists()


def test_pruning_works_in_batches(monkeypatch):
    from cti import pruning

    monkeypatch.setattr(pruning, "BATCH", 3)
    monkeypatch.setattr(pruning.delete_in_batches, "__defaults__", (3,))
    long_ago = timezone.now() - timedelta(days=30)
    Event.objects.bulk_create(
        Event(kind=EventKind.CASE_CREATED, object_type="case", object_id=n, processed=long_ago)
        for n in range(10)
    )
    prune()
    assert not Event.objects.exists()


def _audit_entries(now) -> tuple[AuditEntry, AuditEntry]:
    from cases.models import Tag
    from cti.security.services import default_owner

    AuditEntry.objects.all().delete()
    Tag.objects.create(name="old", owner=default_owner())
    Tag.objects.create(name="new", owner=default_owner())
    old, new = AuditEntry.objects.filter(content_type__model="tag").order_by("pk")
    AuditEntry.objects.filter(pk=old.pk).update(timestamp=now - timedelta(days=400))
    return old, new


def test_audit_entries_are_kept_for_ever_by_default(settings):
    settings.CTI_AUDIT_KEEP_DAYS = 0
    old, new = _audit_entries(timezone.now())
    prune()
    assert set(AuditEntry.objects.filter(content_type__model="tag")) == {old, new}


def test_audit_entries_older_than_the_retention_go(settings):
    settings.CTI_AUDIT_KEEP_DAYS = 365
    _old, new = _audit_entries(timezone.now())
    prune()
    assert list(AuditEntry.objects.filter(content_type__model="tag")) == [new]
