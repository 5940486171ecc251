"""Non-trivial reads."""

from collections import defaultdict

from django.db.models import F, Window
from django.db.models.functions import DenseRank

from cases.models import Artifact, Case
from cti.api.resources import Scope, unscoped
from cti.security.resources import user_summary_defer

RELATED_USERS = (
    "assignee_user",
    "created_by",
    "case_open_user",
    "case_close_user",
    "case_occurrence_user",
    "case_detection_user",
)

RELATED_LIMIT = 100
"""At most this many related cases per case, the most recent first: a popular derived-link
value (a mail gateway host, a common hash) would otherwise relate a case to thousands of
others (the over-correlation peers cap too)."""


def related_case_ids(case_ids: list[int], limit: int = RELATED_LIMIT) -> dict[int, set[int]]:
    """Cases sharing a derived-link artifact (same type and summary) with each given case:
    the `limit` most recent (highest id) per case."""
    links = list(
        Artifact.objects.filter(case_id__in=case_ids, derived_link=True).values_list(
            "case_id", "artifact_type_id", "summary"
        )
    )
    if not links:
        return {}
    keys = {(type_id, summary) for _, type_id, summary in links}
    # the newest limit + 1 cases per value (a dense rank: a case with the value twice counts
    # once) are enough: a case outside them for every value it shares is outranked by at least
    # `limit` other related cases
    ranked = (
        Artifact.objects.filter(
            derived_link=True,
            artifact_type_id__in={k[0] for k in keys},
            summary__in={k[1] for k in keys},
        )
        .annotate(
            rank=Window(
                DenseRank(),
                partition_by=[F("artifact_type_id"), F("summary")],
                order_by=F("case_id").desc(),
            )
        )
        .filter(rank__lte=limit + 1)
        .values_list("case_id", "artifact_type_id", "summary")
    )
    cases_by_key: dict[tuple, set[int]] = defaultdict(set)
    for case_id, type_id, summary in ranked:
        if (type_id, summary) in keys:
            cases_by_key[(type_id, summary)].add(case_id)
    related: dict[int, set[int]] = defaultdict(set)
    for case_id, type_id, summary in links:
        related[case_id] |= cases_by_key[(type_id, summary)] - {case_id}
    return {
        case_id: set(sorted(others, reverse=True)[:limit]) for case_id, others in related.items()
    }


def attach_related_cases(cases: list[Case], scope: Scope = unscoped) -> None:
    """Sets `related_cases` (those the requester may see) on each case with three queries for
    the whole page."""
    related = related_case_ids([c.pk for c in cases])
    wanted = set().union(*related.values()) if related else set()
    related_cases = (
        scope(Case.objects.filter(pk__in=wanted))
        .select_related("owner", "assignee_group", *RELATED_USERS)
        .defer(*user_summary_defer(*RELATED_USERS))  # users are shown by user_summary only
    )
    by_id = {c.pk: c for c in related_cases}
    for case in cases:
        case.related_cases = sorted(
            (by_id[i] for i in related.get(case.pk, ()) if i in by_id), key=lambda c: c.pk
        )
