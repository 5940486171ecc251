"""A small graph spread over two owners, plus the objects the sighting_incident rule infers from
it, and clients that speak TAXII 2.1."""

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from cti.intel.choices import CASE
from cti.intel.models import StixObject
from cti.intel.services import import_objects
from cti.security.choices import SystemRoleChoices
from cti.security.models import Owner
from cti.security.services import IssuedCredential, api_user_create
from cti.taxii.collections import INDICATORS, INTEL, owner_collection
from rules.definitions import RULES_BY_ID
from rules.engine import engine_writes, evaluate
from tests.rules.graphs import identity, indicator, ipv4, rel, sdo, sighting

TAXII = "application/taxii+json;version=2.1"
ROOT = "/taxii2/api/"
# date added of the n-th node (by pk): one second apart, so added_after splits exactly
ADDED_BASE = datetime(2025, 1, 1, tzinfo=UTC)
OTHER_ORG = "Other Org"


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


class TaxiiClient(APIClient):
    """Sends `Accept: application/taxii+json;version=2.1` and HTTP Basic (user + API token)."""

    def __init__(self, credential: IssuedCredential | None = None, **kwargs):
        super().__init__(**kwargs)
        self.defaults = {"HTTP_ACCEPT": TAXII}
        if credential:
            self.defaults["HTTP_AUTHORIZATION"] = basic(credential.user.username, credential.token)

    def request(self, **kwargs):
        return super().request(**{**self.defaults, **kwargs})


def objects_url(collection_id: str, suffix: str = "objects/") -> str:
    return f"{ROOT}collections/{collection_id}/{suffix}"


@dataclass
class Graph:
    home: Owner  # the analyst's owner
    other: Owner
    home_ids: set[str] = field(default_factory=set)
    other_ids: set[str] = field(default_factory=set)
    inferred_ids: set[str] = field(default_factory=set)
    incident_id: str = ""

    @staticmethod
    def served(everything: bool = False) -> set[str]:
        """What the collections serve the analyst (their owner's objects and those without an
        owner), or an administrator (`everything`)."""
        return set(Graph._rows(everything).exclude(type=CASE).values_list("stix_id", flat=True))

    @staticmethod
    def indicators(everything: bool = False) -> set[str]:
        rows = Graph._rows(everything).filter(type="indicator")
        return set(rows.values_list("stix_id", flat=True))

    @staticmethod
    def _rows(everything: bool):
        rows = StixObject.objects.all()
        return rows if everything else rows.exclude(owner__name=OTHER_ORG)

    def collection_ids(self) -> dict[str, str]:
        return {
            "intel": INTEL.id,
            "indicators": INDICATORS.id,
            "home": owner_collection(self.home).id,
            "other": owner_collection(self.other).id,
        }


@pytest.fixture
def analyst(db) -> IssuedCredential:
    return api_user_create("analyst@example.com", role=SystemRoleChoices.ANALYST)


@pytest.fixture
def admin(db) -> IssuedCredential:
    return api_user_create("admin", role=SystemRoleChoices.ADMINISTRATOR, superuser=True)


@pytest.fixture
def outsider(db) -> IssuedCredential:
    """An analyst of another organisation."""
    credential = api_user_create("outsider@example.org", role=SystemRoleChoices.ANALYST)
    credential.user.owner, _ = Owner.objects.get_or_create(name=OTHER_ORG)
    credential.user.save(update_fields=["owner"])
    return credential


@pytest.fixture
def taxii(analyst) -> TaxiiClient:
    return TaxiiClient(analyst)


def _load(objects: list[dict], owner: Owner) -> set[str]:
    result = import_objects(objects, owner=owner)
    assert not result.rejected, result.rejected
    return {o["id"] for o in objects}


@pytest.fixture
def graph(analyst, outsider) -> Graph:
    home, other = analyst.user.owner, outsider.user.owner
    org = identity("acme")
    inds = [indicator(n, confidence=80) for n in range(5)]
    mal = sdo("malware", "rat")
    ips = [ipv4(n) for n in (1, 2)]
    home_objects = [org, *inds, mal, *ips, rel("indicates", inds[0], mal)]
    graph = Graph(home=home, other=other)
    graph.home_ids = _load(home_objects, home)
    graph.home_ids |= _load([sighting(inds[0], org)], home)
    other_objects = [indicator("o1"), indicator("o2"), sdo("malware", "other")]
    graph.other_ids = _load(other_objects, other)
    before = Graph.served()
    with engine_writes():
        assert evaluate([RULES_BY_ID["sighting_incident"]]) == 3
    graph.inferred_ids = Graph.served() - before
    graph.incident_id = StixObject.objects.get(type="incident").stix_id
    for n, pk in enumerate(StixObject.objects.order_by("pk").values_list("pk", flat=True)):
        added = ADDED_BASE + timedelta(seconds=n)
        StixObject.objects.filter(pk=pk).update(date_added=added, last_updated=added)
    return graph
