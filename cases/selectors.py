"""Non-trivial reads."""

from collections import defaultdict

from cases.models import Artifact, Case


def related_case_ids(case_ids: list[int]) -> dict[int, set[int]]:
    """Cases sharing a derived-link artifact (same type and summary) with each given case."""
    links = list(
        Artifact.objects.filter(case_id__in=case_ids, derived_link=True).values_list(
            "case_id", "artifact_type_id", "summary"
        )
    )
    if not links:
        return {}
    keys = {(type_id, summary) for _, type_id, summary in links}
    matches = Artifact.objects.filter(
        derived_link=True,
        artifact_type_id__in={k[0] for k in keys},
        summary__in={k[1] for k in keys},
    ).values_list("case_id", "artifact_type_id", "summary")
    cases_by_key: dict[tuple, set[int]] = defaultdict(set)
    for case_id, type_id, summary in matches:
        if (type_id, summary) in keys:
            cases_by_key[(type_id, summary)].add(case_id)
    related: dict[int, set[int]] = defaultdict(set)
    for case_id, type_id, summary in links:
        related[case_id] |= cases_by_key[(type_id, summary)] - {case_id}
    return related


def attach_related_cases(cases: list[Case]) -> None:
    """Sets `related_cases` on each case with three queries for the whole page."""
    related = related_case_ids([c.pk for c in cases])
    wanted = set().union(*related.values()) if related else set()
    by_id = {
        c.pk: c
        for c in Case.objects.filter(pk__in=wanted).select_related(
            "owner",
            "assignee_user",
            "assignee_group",
            "created_by",
            "case_open_user",
            "case_close_user",
            "case_occurrence_user",
            "case_detection_user",
        )
    }
    for case in cases:
        case.related_cases = sorted(
            (by_id[i] for i in related.get(case.pk, ()) if i in by_id), key=lambda c: c.pk
        )
