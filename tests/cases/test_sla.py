"""SLA deadlines, overdue flags and elapsed times on cases (§5.1)."""

from datetime import timedelta

import pytest
from django.test import override_settings

from tests.cases.helpers import T0, iso

OCCURRED = "2030-01-01T00:00:00Z"
OPENED = "2030-01-01T06:00:00Z"


@pytest.fixture
def sla():
    with override_settings(
        CTI_SLA_DETECTION=timedelta(hours=4), CTI_SLA_RESPONSE=timedelta(hours=48)
    ):
        yield


def _ids(api, tql):
    response = api.get("/api/v3/cases", {"tql": tql})
    assert response.status_code == 200, response.json()
    return [c["id"] for c in response.json()["data"]]


def test_detection_due_is_occurrence_plus_detection_sla(sla, make_case):
    case = make_case(caseOccurrenceTime=OCCURRED, caseOpenTime=OPENED)

    assert case["detectionDue"] == "2030-01-01T04:00:00Z"


def test_response_due_is_open_time_plus_response_sla(sla, make_case):
    case = make_case(caseOccurrenceTime=OCCURRED, caseOpenTime=OPENED)

    assert case["responseDue"] == "2030-01-03T06:00:00Z"


def test_default_slas_are_24_and_72_hours(make_case):
    case = make_case(caseOccurrenceTime=OCCURRED, caseOpenTime=OPENED)

    assert case["detectionDue"] == "2030-01-02T00:00:00Z"
    assert case["responseDue"] == "2030-01-04T06:00:00Z"


def test_no_detection_due_without_occurrence_time(sla, make_case):
    case = make_case(caseOpenTime=OPENED)

    assert "detectionDue" not in case


def test_response_due_follows_the_default_open_time(sla, clock, make_case):
    case = make_case()

    assert case["responseDue"] == iso(T0 + timedelta(hours=48))


def test_moving_open_time_on_put_moves_response_due(sla, api, make_case):
    case = make_case(caseOpenTime=OPENED)

    data = api.put_json(
        f"/api/v3/cases/{case['id']}", {"caseOpenTime": "2030-02-01T00:00:00Z"}
    ).json()["data"]

    assert data["responseDue"] == "2030-02-03T00:00:00Z"


def test_time_to_detect_is_seconds_from_occurrence_to_detection(sla, make_case):
    case = make_case(
        caseOccurrenceTime=OCCURRED, caseDetectionTime="2030-01-01T01:30:00Z", caseOpenTime=OPENED
    )

    assert case["timeToDetect"] == 5400


def test_time_to_respond_is_seconds_from_open_to_close(sla, api, make_case):
    case = make_case(caseOpenTime=OPENED)

    data = api.put_json(
        f"/api/v3/cases/{case['id']}",
        {"status": "Closed", "caseCloseTime": "2030-01-02T06:00:10Z"},
    ).json()["data"]

    assert data["timeToRespond"] == 86410


def test_reopening_clears_time_to_respond(sla, api, make_case):
    case = make_case(caseOpenTime=OPENED)
    api.put_json(f"/api/v3/cases/{case['id']}", {"status": "Closed"})

    data = api.put_json(f"/api/v3/cases/{case['id']}", {"status": "Open"}).json()["data"]

    assert "timeToRespond" not in data


def test_detection_overdue_when_undetected_past_due(sla, clock, make_case):
    case = make_case(caseOccurrenceTime=OCCURRED)  # due 04:00, now 12:00

    assert case["detectionOverdue"] is True


def test_detection_not_overdue_when_detected_in_time(sla, clock, make_case):
    case = make_case(caseOccurrenceTime=OCCURRED, caseDetectionTime="2030-01-01T03:59:00Z")

    assert case["detectionOverdue"] is False


def test_detection_overdue_when_detected_late(sla, clock, make_case):
    case = make_case(caseOccurrenceTime=OCCURRED, caseDetectionTime="2030-01-01T05:00:00Z")

    assert case["detectionOverdue"] is True


def test_detection_not_overdue_before_the_deadline(sla, clock, make_case):
    case = make_case(caseOccurrenceTime="2030-01-01T10:00:00Z")  # due 14:00, now 12:00

    assert case["detectionOverdue"] is False


def test_response_overdue_when_open_past_due(sla, clock, make_case, get_case):
    case = make_case(caseOpenTime="2029-12-29T00:00:00Z")

    assert get_case(case["id"])["responseOverdue"] is True


def test_response_not_overdue_when_closed_in_time(sla, clock, api, make_case):
    case = make_case(caseOpenTime="2029-12-29T00:00:00Z")

    data = api.put_json(
        f"/api/v3/cases/{case['id']}",
        {"status": "Closed", "caseCloseTime": "2029-12-30T00:00:00Z"},
    ).json()["data"]

    assert data["responseOverdue"] is False


def test_response_not_overdue_for_a_fresh_case(sla, clock, make_case):
    assert make_case()["responseOverdue"] is False


def test_tql_detection_overdue_true_finds_only_late_cases(sla, clock, api, make_case):
    late = make_case(name="late", caseOccurrenceTime=OCCURRED)
    make_case(name="in time", caseOccurrenceTime=OCCURRED, caseDetectionTime=OCCURRED)
    make_case(name="no occurrence")

    assert _ids(api, "detectionOverdue = true") == [late["id"]]


def test_tql_detection_overdue_false_finds_the_rest(sla, clock, api, make_case):
    make_case(name="late", caseOccurrenceTime=OCCURRED)
    in_time = make_case(name="in time", caseOccurrenceTime=OCCURRED, caseDetectionTime=OCCURRED)
    no_occurrence = make_case(name="no occurrence")

    assert sorted(_ids(api, "detectionOverdue = False")) == [in_time["id"], no_occurrence["id"]]


def test_tql_response_overdue_true_finds_only_late_cases(sla, clock, api, make_case):
    late = make_case(name="late", caseOpenTime="2029-12-29T00:00:00Z")
    make_case(name="fresh")
    closed_late = make_case(name="closed late", caseOpenTime="2029-12-20T00:00:00Z")
    api.put_json(
        f"/api/v3/cases/{closed_late['id']}",
        {"status": "Closed", "caseCloseTime": "2029-12-25T00:00:00Z"},
    )

    assert sorted(_ids(api, "responseOverdue = true")) == [late["id"], closed_late["id"]]


def test_tql_overdue_agrees_with_the_flag_as_time_passes(sla, clock, api, make_case, get_case):
    case = make_case(caseOccurrenceTime="2030-01-01T10:00:00Z")
    assert _ids(api, "detectionOverdue = true") == []

    clock.advance(hours=3)  # 15:00, one hour past the 14:00 deadline

    assert _ids(api, "detectionOverdue = true") == [case["id"]]
    assert get_case(case["id"])["detectionOverdue"] is True


def test_tql_time_to_detect_filter(sla, api, make_case):
    fast = make_case(caseOccurrenceTime=OCCURRED, caseDetectionTime="2030-01-01T00:10:00Z")
    make_case(caseOccurrenceTime=OCCURRED, caseDetectionTime="2030-01-01T03:00:00Z")

    assert _ids(api, "timeToDetect < 3600") == [fast["id"]]
