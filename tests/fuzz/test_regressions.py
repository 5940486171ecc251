"""What the schemathesis run found, pinned as plain tests (they fail before the fixes)."""

import pytest

from cti.api.params import parse_pk


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("42", 42),
        (" 7 ", 7),
        ("¹", None),  # isdigit() but int() fails
        ("\u0661", None),  # ARABIC-INDIC DIGIT ONE: isdigit() and int() reads 1
        ("-1", None),
        ("1" * 19, None),  # more than a bigint
    ],
)
def test_parse_pk(text, expected):
    assert parse_pk(text) == expected


@pytest.mark.parametrize(
    "path",
    [
        "/api/v3/intel/objects/%C2%B9",
        "/api/v3/cases/%C2%B9",
        "/api/v3/cases/99999999999999999999",
        "/api/v3/notifications/triggers/%C2%B9",
        "/api/v3/caseAutomations/%C2%B9",
    ],
)
def test_odd_ids_are_not_found(admin_api, path):
    response = admin_api.get(path)
    assert response.status_code == 404, response.content
    assert response.json()["status"] == "Error"


def test_dead_letter_status_must_be_known(admin_api):
    response = admin_api.get("/api/v3/deadLetters", {"status": "AAA"})
    assert response.status_code == 400, response.content
    assert admin_api.get("/api/v3/deadLetters", {"status": "new"}).status_code == 200
