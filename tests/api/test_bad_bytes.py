"""Values the database cannot hold are a 400 in the envelope, never a 500 (found by fuzzing)."""

from unittest import mock

import pytest
from django.db import DataError

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "query",
    [
        "owner=N%00x",
        "tql=name%20%3D%20%22a%00b%22",
        "sorting=name%00",
        "fields=tags%00",
    ],
)
@pytest.mark.parametrize("path", ["/api/v3/cases", "/api/v3/intel/sightings"])
def test_nul_characters_in_parameters_are_refused(admin_api, path, query):
    response = admin_api.get(f"{path}?{query}")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["status"] == "Error"
    assert "NUL characters are not allowed" in body["message"]


def test_a_data_error_from_the_database_is_a_400(admin_api):
    with mock.patch("cases.api.views.CaseViewSet.list", side_effect=DataError("value too long")):
        response = admin_api.get("/api/v3/cases")
    assert response.status_code == 400
    assert response.json()["status"] == "Error"
