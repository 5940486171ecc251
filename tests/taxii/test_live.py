"""The OASIS client `taxii2-client` against a live server (pytest-django's live_server):
discovery, API root, collections, paged objects and manifest (`as_pages`), added_after,
filters, one object, its versions, and authentication failures."""

import pytest
import requests
import stix2
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from tests.taxii.conftest import Graph

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def server_url(live_server) -> str:
    return f"{live_server.url}/taxii2/"


def collections_by_alias(server: Server) -> dict[str, Collection]:
    (root,) = server.api_roots
    return {c.alias: c for c in root.collections}


def all_pages(func, per_request: int, **filters) -> list[dict]:
    objects = []
    for envelope in as_pages(func, per_request=per_request, **filters):
        objects.extend(envelope.get("objects", []))
    return objects


def test_discovery_collections_and_owner_scope(graph, server_url, analyst, admin):
    server = Server(server_url, user=analyst.user.username, password=analyst.token)
    assert server.title
    assert server.default.url == f"{server_url}api/"
    root: ApiRoot = server.api_roots[0]
    assert root.versions == ["application/taxii+json;version=2.1"]
    mine = collections_by_alias(server)
    assert set(mine) == {"intel", "indicators", f"owner-{graph.home.pk}"}
    assert all(c.can_read and not c.can_write for c in mine.values())
    everything = collections_by_alias(
        Server(server_url, user=admin.user.username, password=admin.token)
    )
    assert f"owner-{graph.other.pk}" in everything


@pytest.mark.parametrize("per_request", [2, 5])
def test_objects_and_manifest_as_pages(graph, server_url, analyst, per_request):
    mine = collections_by_alias(
        Server(server_url, user=analyst.user.username, password=analyst.token)
    )
    objects = all_pages(mine["intel"].get_objects, per_request)
    assert sorted(o["id"] for o in objects) == sorted(Graph.served())
    for obj in objects:
        stix2.parse(obj, allow_custom=True, version="2.1")
    indicators = all_pages(mine["indicators"].get_objects, per_request)
    assert {o["id"] for o in indicators} == Graph.indicators()
    home = all_pages(mine[f"owner-{graph.home.pk}"].get_manifest, per_request)
    assert {e["id"] for e in home} == graph.home_ids
    typed = all_pages(mine["intel"].get_objects, per_request, type=["malware", "incident"])
    assert {o["type"] for o in typed} == {"malware", "incident"}


def test_added_after_object_and_versions(graph, server_url, analyst):
    intel = collections_by_alias(
        Server(server_url, user=analyst.user.username, password=analyst.token)
    )["intel"]
    first = intel._conn.session.get(
        intel.objects_url,
        params={"limit": 3},
        headers={"Accept": "application/taxii+json;version=2.1"},
    )
    assert first.status_code == 200 and first.json()["more"] is True
    last_added = first.headers["X-TAXII-Date-Added-Last"]
    rest = all_pages(intel.get_objects, 100, added_after=last_added)
    seen = {o["id"] for o in first.json()["objects"]}
    assert seen | {o["id"] for o in rest} == Graph.served() and not seen & {o["id"] for o in rest}
    one = intel.get_object(graph.incident_id)
    assert [o["id"] for o in one["objects"]] == [graph.incident_id]
    assert one["objects"][0]["x_cti_is_inferred"] is True
    versions = intel.object_versions(graph.incident_id)
    assert versions["versions"] == [one["objects"][0]["modified"]]


def test_authentication_failures(graph, server_url, analyst):
    wrong = Server(server_url, user=analyst.user.username, password="not-the-token")
    with pytest.raises(requests.HTTPError) as raised:
        wrong.refresh()
    assert raised.value.response.status_code == 401
    assert raised.value.response.headers["WWW-Authenticate"].startswith("Basic")
    assert raised.value.response.json()["http_status"] == "401"
    token_only = requests.get(
        f"{server_url}api/collections/",
        headers={"Authorization": f"Token {analyst.token}", "Accept": "application/json"},
        timeout=30,
    )
    assert token_only.status_code == 406
    assert token_only.headers["Content-Type"] == "application/taxii+json;version=2.1"
    root = Server(server_url, user=analyst.user.username, password=analyst.token).api_roots[0]
    with pytest.raises(requests.HTTPError) as raised:
        root.refresh_information(accept="application/taxii+json;version=2.0")
    assert raised.value.response.status_code == 406
