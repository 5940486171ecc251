"""The intel endpoints' resources: STIX 2.1 JSON in the v3 envelope."""

from django.db.models import Prefetch

from cti.api.rendering import register_resource
from cti.api.resources import Resource
from cti.intel import tql
from cti.intel.choices import OBSERVABLE_TYPES
from cti.intel.models import Explanation, Relationship, Sighting, StixObject
from cti.intel.selectors import inferences_of, stix_of
from cti.intel.validation import version_text


def node_json(node: StixObject) -> dict:
    obj = {
        **stix_of(node),
        "x_cti_is_inferred": node.is_inferred,
        "x_cti_inferences": inferences_of(node),
    }
    if node.type not in OBSERVABLE_TYPES:
        obj.update(_required_timestamps(node, obj))
    return obj


def _required_timestamps(node: StixObject, obj: dict) -> dict:
    """STIX 2.1 requires created and modified of every non-observable; the rules engine stores
    its facts without them. They get the row's times: `modified` is the version TAXII's manifest
    shows (modified, else created, else last updated), and created is never after it."""
    missing: dict = {}
    version = node.modified or node.created or node.last_updated
    if "modified" not in obj and version:
        missing["modified"] = version_text(version)
    if "created" not in obj and version:
        missing["created"] = version_text(node.created or min(node.date_added, version))
    return missing


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
