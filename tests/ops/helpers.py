"""Shared pieces of the operations tests."""

from prometheus_client.parser import text_string_to_metric_families

from tests.rules_manager.conftest import celery_broker

__all__ = ["celery_broker", "samples", "value"]


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a text exposition, keyed by (name, labels)."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, frozenset(labels.items())))
