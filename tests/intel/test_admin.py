"""The graph's Django admin pages render, search, filter and link relationships both ways."""

import pytest
from django.contrib import admin
from django.urls import reverse

from cti.intel.models import Explanation, ObjectRef, Relationship, Sighting, StixAlias, StixObject
from tests.intel.stixdata import R_ON_R, sample_objects, sid

pytestmark = pytest.mark.django_db


@pytest.fixture
def sample(post_bundle):
    assert post_bundle(sample_objects())["rejected"] == []


def test_every_graph_model_is_registered_with_raw_id_fields():
    for model in (StixObject, Relationship, Sighting, ObjectRef, StixAlias, Explanation):
        model_admin = admin.site._registry[model]
        foreign_keys = {
            f.name for f in model._meta.fields if f.is_relation and (f.many_to_one or f.one_to_one)
        }
        assert foreign_keys <= set(model_admin.raw_id_fields), model


def test_lists_render_and_search(admin_client, sample):
    for name in ("stixobject", "relationship", "sighting", "objectref", "stixalias", "explanation"):
        response = admin_client.get(reverse(f"admin:intel_{name}_changelist"))
        assert response.status_code == 200, name
    url = reverse("admin:intel_stixobject_changelist")
    for query, found in (
        ("ExampleRAT", sid("malware", 1)),
        (sid("tool", 1), sid("tool", 1)),
        ("198.51.100.7", "ipv4-addr--"),
    ):
        body = admin_client.get(url, {"q": query}).content.decode()
        assert found in body, query
    body = admin_client.get(url, {"type": "malware"}).content.decode()
    assert sid("malware", 1) in body and sid("tool", 1) not in body
    body = admin_client.get(url, {"inferred__exact": "1"}).content.decode()
    assert sid("malware", 1) not in body


def test_object_page_lists_relationships_in_and_out_with_links(admin_client, sample):
    apt = StixObject.objects.get(stix_id=sid("intrusion-set", 1))
    body = admin_client.get(reverse("admin:intel_stixobject_change", args=[apt.pk])).content
    body = body.decode()
    malware = StixObject.objects.get(stix_id=sid("malware", 1))
    uses = Relationship.objects.get(node__stix_id=sid("relationship", 1))
    assert reverse("admin:intel_stixobject_change", args=[malware.pk]) in body
    assert reverse("admin:intel_relationship_change", args=[uses.pk]) in body
    campaign = StixObject.objects.get(stix_id=sid("campaign", 1))  # attributed-to, coming in
    assert reverse("admin:intel_stixobject_change", args=[campaign.pk]) in body
    report = StixObject.objects.get(stix_id=sid("report", 1))  # a container holding it
    assert reverse("admin:intel_stixobject_change", args=[report.pk]) in body
    # a relationship's node shows the relationship pointing at it
    targets = StixObject.objects.get(stix_id=sid("relationship", 2))
    body = admin_client.get(reverse("admin:intel_stixobject_change", args=[targets.pk]))
    located = Relationship.objects.get(node__stix_id=R_ON_R)
    assert reverse("admin:intel_relationship_change", args=[located.pk]) in body.content.decode()


def test_edge_pages_render(admin_client, sample):
    for name, row in (
        ("relationship", Relationship.objects.get(node__stix_id=R_ON_R)),
        ("sighting", Sighting.objects.first()),
        ("objectref", ObjectRef.objects.first()),
    ):
        response = admin_client.get(reverse(f"admin:intel_{name}_change", args=[row.pk]))
        assert response.status_code == 200, name
