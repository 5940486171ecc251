"""Fixtures for the knowledge-graph tests: bundle import/export through the API."""

import pytest

from tests.intel.stixdata import bundle_of

BUNDLES = "/api/v3/intel/bundles"


@pytest.fixture
def post_bundle(api):
    """POST a bundle of objects; return the import summary (created/updated/...)."""

    def post(objects: list[dict], client=None, status: int = 200) -> dict:
        response = (client or api).post_json(BUNDLES, bundle_of(objects))
        assert response.status_code == status, response.json()
        return response.json()["data"] if status == 200 else response.json()

    return post


@pytest.fixture
def get_bundle(api):
    """GET an export; return the bundle's objects keyed by id."""

    def get(**params) -> dict[str, dict]:
        response = api.get(BUNDLES, params)
        assert response.status_code == 200, response.json()
        body = response.json()
        assert body["type"] == "bundle"
        ids = [o["id"] for o in body["objects"]]
        assert len(ids) == len(set(ids)), "an export lists each object once"
        return {o["id"]: o for o in body["objects"]}

    return get
