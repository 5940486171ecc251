"""The intel endpoints' resources: STIX 2.1 JSON in the v3 envelope."""

from django.db.models import Prefetch

from cti.api.rendering import register_resource
from cti.api.resources import Resource
from cti.intel import tql
from cti.intel.models import Explanation, Relationship, Sighting, StixObject
from cti.intel.selectors import inferences_of, stix_of


def node_json(node: StixObject) -> dict:
    return {
        **stix_of(node),
        "x_cti_is_inferred": node.is_inferred,
        "x_cti_inferences": inferences_of(node),
    }


def _explanations(path: str) -> Prefetch:
    return Prefetch(path, queryset=Explanation.objects.order_by("pk"))


OBJECTS = register_resource(
    Resource(
        name="intelObjects",
        model=StixObject,
        tql=tql.OBJECTS,
        fields=[],
        prefetch=(_explanations("explanations"),),
        renderer=lambda node, expand: node_json(node),
        key_field="stix_id",
    )
)

RELATIONSHIPS = register_resource(
    Resource(
        name="intelRelationships",
        model=Relationship,
        tql=tql.RELATIONSHIPS,
        fields=[],
        select=("node",),
        prefetch=(_explanations("node__explanations"),),
        renderer=lambda rel, expand: node_json(rel.node),
        key_field="node__stix_id",
    )
)

SIGHTINGS = register_resource(
    Resource(
        name="intelSightings",
        model=Sighting,
        tql=tql.SIGHTINGS,
        fields=[],
        # node.sighting is this very row (Django caches the reverse side), so its where_sighted
        # is what must be joined
        select=("node", "where_sighted"),
        prefetch=(_explanations("node__explanations"),),
        renderer=lambda sighting, expand: node_json(sighting.node),
        key_field="node__stix_id",
    )
)
