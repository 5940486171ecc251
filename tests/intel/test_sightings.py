"""Sightings: one row per (sighting_of, where_sighted) pair; another id of the same pair within
±30 days adds its count and widens the dates; the same id re-posted replaces its own part; the
false-positive flag (`x_opencti_negative`)."""

import pytest

from cti.intel.models import Sighting, StixAlias
from tests.intel.stixdata import sid

pytestmark = pytest.mark.django_db

SIGHTINGS = "/api/v3/intel/sightings"
INDICATOR = sid("indicator", 1)
SIEM = sid("identity", 1)
BANK = sid("identity", 2)


def base() -> list[dict]:
    return [
        {
            "type": "indicator",
            "id": INDICATOR,
            "name": "evil",
            "pattern_type": "stix",
            "pattern": "[domain-name:value = 'evil.example.com']",
            "valid_from": "2024-01-01T00:00:00Z",
        },
        {"type": "identity", "id": SIEM, "name": "SIEM perimeter A", "identity_class": "system"},
        {"type": "identity", "id": BANK, "name": "Bank", "identity_class": "organization"},
    ]


def sighting(n: int, first: str, last: str, count: int = 1, where=SIEM, **extra) -> dict:
    return {
        "type": "sighting",
        "id": sid("sighting", n),
        "sighting_of_ref": INDICATOR,
        "where_sighted_refs": [where] if where else [],
        "count": count,
        "first_seen": f"2024-{first}T00:00:00Z",
        "last_seen": f"2024-{last}T00:00:00Z",
        **extra,
    }


@pytest.fixture
def graph(post_bundle):
    assert post_bundle(base())["rejected"] == []


def rows() -> list[tuple]:
    return [
        (s.node.stix_id, s.count, s.first_seen.date().isoformat(), s.last_seen.date().isoformat())
        for s in Sighting.objects.select_related("node").order_by("first_seen")
    ]


def test_same_pair_within_the_window_is_one_row_with_summed_count(graph, post_bundle, api):
    s1, s2 = sighting(1, "01-10", "01-11", 2), sighting(2, "01-15", "01-20", 3)
    assert post_bundle([s1])["created"] == [s1["id"]]
    summary = post_bundle([s2])
    assert summary["created"] == [] and summary["updated"] == [s1["id"]]
    assert rows() == [(s1["id"], 5, "2024-01-10", "2024-01-20")]
    assert StixAlias.objects.get(stix_id=s2["id"]).node.stix_id == s1["id"]
    got = api.get(f"{SIGHTINGS}/{s1['id']}").json()["data"]
    assert (got["count"], got["first_seen"][:19], got["last_seen"][:19]) == (
        5,
        "2024-01-10T00:00:00",
        "2024-01-20T00:00:00",
    )
    # a third one, 29 days after the first, through the sightings endpoint
    response = api.post_json(SIGHTINGS, sighting(3, "02-08", "02-08", 1))
    assert response.status_code == 201, response.json()
    assert response.json()["data"]["id"] == s1["id"]
    assert response.json()["data"]["count"] == 6
    assert Sighting.objects.count() == 1


def test_outside_the_window_is_another_row(graph, post_bundle):
    post_bundle([sighting(1, "01-10", "01-10", 2)])
    summary = post_bundle([sighting(2, "03-01", "03-02", 3)])  # 51 days later
    assert summary["created"] == [sid("sighting", 2)]
    assert rows() == [
        (sid("sighting", 1), 2, "2024-01-10", "2024-01-10"),
        (sid("sighting", 2), 3, "2024-03-01", "2024-03-02"),
    ]


def test_other_pairs_are_other_rows(graph, post_bundle):
    post_bundle(
        [
            sighting(1, "01-10", "01-10"),
            sighting(2, "01-10", "01-10", where=BANK),
            sighting(3, "01-10", "01-10", where=None),
        ]
    )
    assert Sighting.objects.count() == 3


def test_same_id_reposted_replaces_its_own_part(graph, post_bundle):
    s1, s2 = sighting(1, "01-10", "01-11", 2), sighting(2, "01-15", "01-20", 3)
    post_bundle([s1, s2])
    assert rows() == [(s1["id"], 5, "2024-01-10", "2024-01-20")]
    # the same ids again: nothing changes, nothing is added
    summary = post_bundle([s1, s2])
    assert summary["created"] == [] and summary["updated"] == []
    assert sorted(summary["unchanged"]) == sorted([s1["id"], s2["id"]])
    assert rows() == [(s1["id"], 5, "2024-01-10", "2024-01-20")]
    # s1 says 4 now: its part is replaced (4 + 3), not added (2 + 3 + 4)
    summary = post_bundle([{**s1, "count": 4, "description": "recount"}])
    assert summary["updated"] == [s1["id"]]
    assert rows() == [(s1["id"], 7, "2024-01-10", "2024-01-20")]
    # s2 (merged into s1) narrows its dates: the row's dates follow
    post_bundle([{**s2, "last_seen": "2024-01-16T00:00:00Z"}])
    assert rows() == [(s1["id"], 7, "2024-01-10", "2024-01-16")]


def test_reimporting_an_export_of_a_merged_sighting_changes_nothing(graph, post_bundle, get_bundle):
    post_bundle([sighting(1, "01-10", "01-11", 2), sighting(2, "01-15", "01-20", 3)])
    exported = get_bundle(id=sid("sighting", 1))
    assert exported[sid("sighting", 1)]["count"] == 5
    assert "x_cti_sighting_parts" not in str(exported)
    summary = post_bundle(list(exported.values()))
    assert summary["created"] == [] and summary["updated"] == [], summary
    assert rows() == [(sid("sighting", 1), 5, "2024-01-10", "2024-01-20")]


def test_partial_update_of_a_merged_sighting_keeps_the_count(graph, post_bundle, api):
    post_bundle([sighting(1, "01-10", "01-11", 2), sighting(2, "01-15", "01-20", 3)])
    response = api.put_json(f"{SIGHTINGS}/{sid('sighting', 1)}", {"description": "triaged"})
    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    assert (data["description"], data["count"]) == ("triaged", 5)
    response = api.put_json(f"{SIGHTINGS}/{sid('sighting', 1)}", {"count": 10})
    assert response.json()["data"]["count"] == 10 + 3  # its own part is 10 now


def test_false_positive_flag(graph, post_bundle, api):
    post_bundle(
        [
            sighting(1, "01-10", "01-11", 2, x_opencti_negative=True),
            sighting(2, "05-10", "05-11", 1),
        ]
    )
    assert Sighting.objects.get(node__stix_id=sid("sighting", 1)).false_positive is True
    assert Sighting.objects.get(node__stix_id=sid("sighting", 2)).false_positive is False
    listed = api.get(SIGHTINGS, {"tql": "falsePositive = true"}).json()["data"]
    assert [s["id"] for s in listed] == [sid("sighting", 1)]
    assert listed[0]["x_opencti_negative"] is True
    response = api.put_json(f"{SIGHTINGS}/{sid('sighting', 1)}", {"x_opencti_negative": False})
    assert response.status_code == 200, response.json()
    assert Sighting.objects.get(node__stix_id=sid("sighting", 1)).false_positive is False
    assert api.get(SIGHTINGS, {"tql": "falsePositive = true"}).json()["data"] == []


def test_several_where_sighted_refs_make_one_row_each(graph, post_bundle, get_bundle):
    multi = {**sighting(1, "01-10", "01-11", 2), "where_sighted_refs": [SIEM, BANK]}
    summary = post_bundle([multi])
    assert len(summary["created"]) == 2 and summary["rejected"] == []
    assert sorted(Sighting.objects.values_list("where_sighted__stix_id", "count")) == sorted(
        [(SIEM, 2), (BANK, 2)]
    )
    assert post_bundle([multi])["created"] == []
    assert Sighting.objects.count() == 2
    exported = get_bundle(id=sid("sighting", 1), neighbours="true")
    assert exported[sid("sighting", 1)]["where_sighted_refs"] == [SIEM]


def test_sighting_of_a_missing_object_is_rejected(graph, post_bundle):
    summary = post_bundle([{**sighting(1, "01-10", "01-11"), "sighting_of_ref": sid("malware", 1)}])
    assert summary["rejected"] == [
        {
            "id": sid("sighting", 1),
            "reason": "sighting_of_ref or where_sighted_refs not found",
        }
    ]
