"""The TAXII 2.1 server through the Django test client: discovery, API root, collections and
their owner scoping, objects/manifest/versions with every filter and paging, auth, media types."""

import json
import time
import uuid

import pytest
import stix2
from dateutil.parser import isoparse
from django.db import connection
from django.test.utils import CaptureQueriesContext
from stix2validator import validate_instance

from cti.api.authentication import hmac_signature
from cti.intel.models import StixAlias, StixObject
from cti.security.models import ApiCredential, Owner
from cti.taxii.collections import NAMESPACE
from tests.rules.graphs import T0
from tests.taxii.conftest import ROOT, TAXII, Graph, TaxiiClient, basic, objects_url

pytestmark = pytest.mark.django_db


def taxii_json(response, status: int = 200) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == TAXII
    return json.loads(response.content) if response.content else {}


def assert_taxii_error(response, status: int) -> dict:
    body = taxii_json(response, status)
    assert body["http_status"] == str(status)
    assert body["title"] and body["description"]
    return body


def read_all(client, url: str, limit: int, **params) -> tuple[list[dict], list]:
    """Follow `next` to the end; return every item and each page's response."""
    items, pages, cursor = [], [], None
    while True:
        query = {**params, "limit": limit, **({"next": cursor} if cursor else {})}
        response = client.get(url, query)
        body = taxii_json(response)
        pages.append(response)
        items.extend(body.get("objects", []))
        assert len(body.get("objects", [])) <= limit
        if not body["more"]:
            assert "next" not in body
            return items, pages
        cursor = body["next"]


# ---- discovery, API root, collections -------------------------------------------------------


def test_discovery_and_api_root(taxii):
    body = taxii_json(taxii.get("/taxii2/"))
    assert body["api_roots"] == ["http://testserver/taxii2/api/"]
    assert body["default"] == body["api_roots"][0]
    assert body["title"]
    root = taxii_json(taxii.get(ROOT))
    assert root["versions"] == [TAXII]
    assert root["max_content_length"] > 0
    # no status resources: nothing is ever written
    assert_taxii_error(taxii.get(f"{ROOT}status/{uuid.uuid4()}/"), 404)


def collection_aliases(client) -> dict[str, dict]:
    body = taxii_json(client.get(f"{ROOT}collections/"))
    return {c["alias"]: c for c in body["collections"]}


def test_collections_are_scoped_by_owner(graph, taxii, admin, outsider):
    ids = graph.collection_ids()
    home_alias, other_alias = f"owner-{graph.home.pk}", f"owner-{graph.other.pk}"
    mine = collection_aliases(taxii)
    assert set(mine) == {"intel", "indicators", home_alias}
    assert {c["id"] for c in mine.values()} == {ids["intel"], ids["indicators"], ids["home"]}
    for collection in mine.values():
        assert collection["can_read"] is True and collection["can_write"] is False
        assert collection["media_types"] == ["application/stix+json;version=2.1"]
        assert taxii_json(taxii.get(f"{ROOT}collections/{collection['id']}/")) == collection
    assert mine[home_alias]["title"] == graph.home.name
    theirs = collection_aliases(TaxiiClient(outsider))
    assert set(theirs) == {"intel", "indicators", other_alias}
    everything = collection_aliases(TaxiiClient(admin))
    assert set(everything) == {"intel", "indicators"} | {
        f"owner-{pk}" for pk in Owner.objects.values_list("pk", flat=True)
    }
    # another owner's collection does not exist for the analyst
    assert_taxii_error(taxii.get(f"{ROOT}collections/{ids['other']}/"), 404)
    assert_taxii_error(taxii.get(objects_url(ids["other"])), 404)
    assert_taxii_error(taxii.get(f"{ROOT}collections/not-a-uuid/"), 404)


def test_collection_ids_are_deterministic(graph, taxii):
    before = collection_aliases(taxii)
    graph.home.name = "Renamed"
    graph.home.save()
    after = collection_aliases(taxii)
    assert {a: c["id"] for a, c in after.items()} == {a: c["id"] for a, c in before.items()}
    for collection in after.values():
        assert uuid.UUID(collection["id"]).version == 5
    assert len({c["id"] for c in after.values()}) == 3


# ---- objects --------------------------------------------------------------------------------


def test_collection_contents(graph, taxii, admin):
    ids = graph.collection_ids()
    expected = {
        "intel": Graph.served(),
        "indicators": graph.indicators(),
        "home": graph.home_ids,
    }
    assert graph.inferred_ids and graph.incident_id in graph.inferred_ids
    for name, wanted in expected.items():
        items, _ = read_all(taxii, objects_url(ids[name]), limit=1000)
        assert [o["id"] for o in items if o["id"] in wanted] == [o["id"] for o in items]
        assert {o["id"] for o in items} == wanted, name
    other, _ = read_all(TaxiiClient(admin), objects_url(ids["other"]), limit=1000)
    assert {o["id"] for o in other} == graph.other_ids
    assert not graph.other_ids & graph.home_ids
    everything, _ = read_all(TaxiiClient(admin), objects_url(ids["intel"]), limit=1000)
    assert {o["id"] for o in everything} == Graph.served(everything=True)


def test_collections_hide_other_owners_objects(graph, taxii, outsider):
    """The analyst's intel collection leaves out the other owner's objects, and the outsider's
    leaves out the analyst's, including what the rules inferred from the analyst's facts."""
    ids = graph.collection_ids()
    mine, _ = read_all(taxii, objects_url(ids["intel"]), limit=1000)
    theirs, _ = read_all(TaxiiClient(outsider), objects_url(ids["intel"]), limit=1000)
    mine_ids, their_ids = {o["id"] for o in mine}, {o["id"] for o in theirs}
    assert graph.other_ids and not graph.other_ids & mine_ids
    assert graph.other_ids <= their_ids and not graph.home_ids & their_ids
    assert graph.inferred_ids <= mine_ids and not graph.inferred_ids & their_ids
    hidden = sorted(graph.other_ids)[0]
    response = taxii.get(objects_url(ids["intel"], f"objects/{hidden}/"))
    assert response.status_code == 404


def test_objects_are_valid_stix_with_inference_flags(graph, taxii):
    items, _ = read_all(taxii, objects_url(graph.collection_ids()["intel"]), limit=1000)
    by_id = {o["id"]: o for o in items}
    for obj in items:
        parsed = stix2.parse(obj, allow_custom=True, version="2.1")
        assert parsed.id == obj["id"]
        errors = [str(e) for e in validate_instance(obj).errors]
        if obj["type"] == "incident":
            # the rules engine gives incidents OpenCTI's `severity`, a name STIX 2.1 reserves
            errors = [e for e in errors if "reserved property ('severity'" not in e]
        assert not errors, obj["id"]
        if obj["type"] == "marking-definition":  # TLP: exactly as the specification has it
            assert obj == json.loads(stix2.TLP_AMBER.serialize()) or "x_cti_is_inferred" not in obj
            continue
        assert obj["x_cti_is_inferred"] is (obj["id"] in graph.inferred_ids)
    incident = by_id[graph.incident_id]
    assert incident["type"] == "incident"
    assert {i["rule"] for i in incident["x_cti_inferences"]} == {"sighting_incident"}
    # stored without created/modified: they are the row's date added and version
    node = StixObject.objects.get(stix_id=graph.incident_id)
    assert isoparse(incident["created"]) == node.date_added
    assert isoparse(incident["modified"]) == node.last_updated
    sighting = next(o for o in items if o["type"] == "sighting")
    assert sighting["where_sighted_refs"] and sighting["count"] == 1


@pytest.mark.parametrize("limit", [1, 3, 7])
def test_paging_with_next(graph, taxii, limit):
    url = objects_url(graph.collection_ids()["intel"])
    items, pages = read_all(taxii, url, limit=limit)
    served = Graph.served()
    assert len(items) == len(served) and {o["id"] for o in items} == served
    assert len(pages) == -(-len(served) // limit)
    manifest, _ = read_all(taxii, objects_url(graph.collection_ids()["intel"], "manifest/"), 1000)
    added = {m["id"]: m["date_added"] for m in manifest}
    position = 0
    for response in pages:
        page = json.loads(response.content)["objects"]
        assert response["X-TAXII-Date-Added-First"] == added[page[0]["id"]]
        assert response["X-TAXII-Date-Added-Last"] == added[page[-1]["id"]]
        assert [added[o["id"]] for o in page] == sorted(added[o["id"]] for o in page)
        position += len(page)
    assert position == len(served)


def test_added_after_continues_from_the_last_page(graph, taxii):
    url = objects_url(graph.collection_ids()["intel"])
    first = taxii.get(url, {"limit": 4})
    body = taxii_json(first)
    assert body["more"] is True
    rest, _ = read_all(taxii, url, limit=1000, added_after=first["X-TAXII-Date-Added-Last"])
    seen = {o["id"] for o in body["objects"]}
    assert not seen & {o["id"] for o in rest}
    assert seen | {o["id"] for o in rest} == Graph.served()
    last = taxii.get(url, {"added_after": "2099-01-01T00:00:00Z"})
    assert taxii_json(last) == {"more": False}
    assert "X-TAXII-Date-Added-First" not in last


def test_page_costs_a_constant_number_of_queries(graph, taxii, django_assert_max_num_queries):
    url = objects_url(graph.collection_ids()["intel"])
    counts = []
    for limit in (1, 5, 1000):
        with CaptureQueriesContext(connection) as ctx:
            taxii_json(taxii.get(url, {"limit": limit}))
        counts.append(len(ctx))
        with CaptureQueriesContext(connection) as ctx:
            taxii_json(taxii.get(objects_url(graph.collection_ids()["home"], "manifest/")))
        counts.append(len(ctx))
    assert len(set(counts[0::2])) == 1 and len(set(counts[1::2])) == 1, counts
    # credential, the owners the analyst sees, page, explanations (+ the owner for an owner's
    # collection)
    with django_assert_max_num_queries(5):
        taxii.get(objects_url(graph.collection_ids()["home"]), {"limit": 1000})
    with django_assert_max_num_queries(4):
        body = taxii_json(taxii.get(url, {"limit": 2}))
    with django_assert_max_num_queries(4):
        taxii_json(taxii.get(url, {"limit": 2, "next": body["next"]}))


def test_match_filters(graph, taxii):
    intel = graph.collection_ids()["intel"]
    url = objects_url(intel)

    def got(**params) -> set[str]:
        items, _ = read_all(taxii, url, limit=1000, **params)
        return {o["id"] for o in items}

    assert got(**{"match[type]": "indicator"}) == graph.indicators()
    assert got(**{"match[type]": "malware,incident"}) == set(
        Graph._rows(everything=False)
        .filter(type__in=("malware", "incident"))
        .values_list("stix_id", flat=True)
    )
    some = sorted(graph.home_ids)[:2]
    assert got(**{"match[id]": ",".join(some)}) == set(some)
    assert got(**{"match[id]": some[0], "match[type]": "no-such-type"}) == set()
    # an id merged into a node (alias) finds the node
    node = StixObject.objects.get(stix_id=some[1])
    StixAlias.objects.create(stix_id="indicator--" + str(uuid.uuid4()), node=node)
    alias = StixAlias.objects.get(node=node).stix_id
    assert got(**{"match[id]": alias}) == {some[1]}
    for keyword in ("last", "first", "all", "first,last"):
        assert got(**{"match[version]": keyword}) == Graph.served()
    at_t0 = set(
        Graph._rows(everything=False)
        .filter(modified=stix2.utils.parse_into_datetime(T0))
        .values_list("stix_id", flat=True)
    )
    assert at_t0 and got(**{"match[version]": T0}) == at_t0
    assert got(**{"match[version]": "2030-01-01T00:00:00Z"}) == set()
    assert got(**{"match[spec_version]": "2.1"}) == Graph.served()
    assert got(**{"match[spec_version]": "2.0"}) == set()


def test_manifest(graph, taxii):
    url = objects_url(graph.collection_ids()["home"], "manifest/")
    entries, pages = read_all(taxii, url, limit=3)
    assert len(pages) > 1
    assert {e["id"] for e in entries} == graph.home_ids
    stored = {o.stix_id: o for o in StixObject.objects.filter(stix_id__in=graph.home_ids)}
    for entry in entries:
        node = stored[entry["id"]]
        assert entry["media_type"] == "application/stix+json;version=2.1"
        added = isoparse(entry["date_added"])
        assert added == node.last_updated
        expected = node.modified or node.created or node.last_updated
        assert isoparse(entry["version"]) == expected
    filtered, _ = read_all(taxii, url, limit=10, **{"match[type]": "ipv4-addr"})
    assert {e["id"] for e in filtered} == {i for i in graph.home_ids if i.startswith("ipv4-addr")}
    # observables have no modified: their version is their date added
    assert all(isoparse(e["version"]) == isoparse(e["date_added"]) for e in filtered)


def test_object_and_versions(graph, taxii, admin):
    ids = graph.collection_ids()
    indicator_id = sorted(i for i in graph.home_ids if i.startswith("indicator--"))[0]
    node = StixObject.objects.get(stix_id=indicator_id)
    response = taxii.get(objects_url(ids["home"], f"objects/{indicator_id}/"))
    body = taxii_json(response)
    assert body["more"] is False
    assert [o["id"] for o in body["objects"]] == [indicator_id]
    assert body["objects"][0]["pattern"] == node.properties["pattern"]
    assert response["X-TAXII-Date-Added-First"] == response["X-TAXII-Date-Added-Last"]
    versions = taxii_json(taxii.get(objects_url(ids["home"], f"objects/{indicator_id}/versions/")))
    assert versions == {"more": False, "versions": [node.properties["modified"]]}
    same = taxii.get(
        objects_url(ids["home"], f"objects/{indicator_id}/"),
        {"match[version]": node.properties["modified"]},
    )
    assert [o["id"] for o in taxii_json(same)["objects"]] == [indicator_id]
    # in the collection, but not at that version: an empty envelope
    other_version = taxii.get(
        objects_url(ids["home"], f"objects/{indicator_id}/"),
        {"match[version]": "2030-01-01T00:00:00Z"},
    )
    assert taxii_json(other_version) == {"more": False}
    # not in this collection / nowhere
    other_id = sorted(graph.other_ids)[0]
    assert_taxii_error(taxii.get(objects_url(ids["home"], f"objects/{other_id}/")), 404)
    assert_taxii_error(taxii.get(objects_url(ids["home"], f"objects/{other_id}/versions/")), 404)
    missing = f"indicator--{uuid.uuid4()}"
    assert_taxii_error(taxii.get(objects_url(ids["intel"], f"objects/{missing}/")), 404)
    # the indicators collection holds the other owner's indicator: an administrator gets it,
    # the analyst (not of that owner) does not
    assert_taxii_error(taxii.get(objects_url(ids["indicators"], f"objects/{other_id}/")), 404)
    body = taxii_json(
        TaxiiClient(admin).get(objects_url(ids["indicators"], f"objects/{other_id}/"))
    )
    assert [o["id"] for o in body["objects"]] == [other_id]


def test_collections_are_read_only(graph, taxii):
    intel = graph.collection_ids()["intel"]
    envelope = {"objects": [{"type": "indicator"}]}
    response = taxii.post(objects_url(intel), envelope, format="json")
    assert_taxii_error(response, 403)
    indicator_id = sorted(graph.indicators())[0]
    assert_taxii_error(taxii.delete(objects_url(intel, f"objects/{indicator_id}/")), 403)
    assert_taxii_error(taxii.put(objects_url(intel), envelope, format="json"), 405)
    assert StixObject.objects.filter(stix_id=indicator_id).exists()


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "many"},
        {"added_after": "yesterday"},
        {"match[version]": "not-a-time"},
        {"next": "forged"},
    ],
)
def test_bad_parameters(graph, taxii, params):
    body = assert_taxii_error(taxii.get(objects_url(graph.collection_ids()["intel"]), params), 400)
    assert body["title"] == "Bad request"


def test_limit_is_capped(graph, taxii, settings):
    settings.CTI_TAXII_MAX_PAGE_SIZE = 2
    body = taxii_json(taxii.get(objects_url(graph.collection_ids()["intel"]), {"limit": 500}))
    assert len(body["objects"]) == 2 and body["more"] is True


# ---- authentication and media types ---------------------------------------------------------


def test_unauthenticated_requests_get_401(graph):
    anonymous = TaxiiClient()
    for path in (
        "/taxii2/",
        ROOT,
        f"{ROOT}collections/",
        objects_url(graph.collection_ids()["intel"]),
    ):
        response = anonymous.get(path)
        assert_taxii_error(response, 401)
        assert response["WWW-Authenticate"].startswith("Basic realm=")


def test_authentication_schemes(graph, analyst, outsider):
    url = f"{ROOT}collections/"
    good = {
        "basic": basic(analyst.user.username, analyst.token),
        "token": f"Token {analyst.token}",
        "bearer": f"Bearer {analyst.token}",
        "tc-token": f"TC-Token {analyst.token}",
    }
    for header in good.values():
        assert taxii_json(TaxiiClient().get(url, HTTP_AUTHORIZATION=header))["collections"]
    bad = {
        "wrong token": basic(analyst.user.username, analyst.token + "x"),
        "another user's token": basic(analyst.user.username, outsider.token),
        "HMAC secret is not the password": basic(analyst.user.username, analyst.secret_key),
        "not base64": "Basic %%%",
        "no password": basic(analyst.user.username, ""),
        "unknown token": "Token nope",
        "empty token": "Token ",
    }
    for reason, header in bad.items():
        response = TaxiiClient().get(url, HTTP_AUTHORIZATION=header)
        assert response.status_code == 401, reason
        assert_taxii_error(response, 401)
    ApiCredential.objects.filter(user=analyst.user).update(revoked=True)
    assert_taxii_error(TaxiiClient().get(url, HTTP_AUTHORIZATION=good["basic"]), 401)


def test_hmac_authentication(graph, analyst):
    ts = str(int(time.time()))
    path = f"{ROOT}collections/"
    signature = hmac_signature(analyst.secret_key, path, "GET", ts)
    response = TaxiiClient().get(
        path, HTTP_AUTHORIZATION=f"TC {analyst.access_id}:{signature}", HTTP_TIMESTAMP=ts
    )
    assert taxii_json(response)["collections"]


@pytest.mark.parametrize(
    "accept,status",
    [
        (TAXII, 200),
        ("application/taxii+json", 200),
        ("application/taxii+json; version=2.1", 200),
        ("*/*", 200),
        ("text/html, application/xhtml+xml, */*;q=0.8", 200),
        ("application/json", 406),
        ("application/taxii+json;version=2.0", 406),
        ("application/stix+json;version=2.1", 406),
        ("application/taxii+json;version=2.1;q=0", 406),
    ],
)
def test_accept_negotiation(graph, analyst, accept, status):
    client = TaxiiClient(analyst)
    response = client.get(objects_url(graph.collection_ids()["intel"]), HTTP_ACCEPT=accept)
    if status == 200:
        taxii_json(response)
    else:
        assert_taxii_error(response, status)


def test_owner_collections_follow_owner_uuid(graph):
    assert str(uuid.uuid5(NAMESPACE, f"owner:{graph.home.pk}")) == graph.collection_ids()["home"]
