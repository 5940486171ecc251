"""TQL keywords of the intel endpoints."""

from django.db.models import Q

from cti.intel.models import Relationship, Sighting, StixObject
from cti.tql import Keyword, Subquery, TqlSchema, registry
from cti.tql import KeywordType as T


def _inferred(prefix: str = ""):
    def resolve(op, value, ctx) -> Q:
        q = Q(**{f"{prefix}inferred": True, f"{prefix}asserted": False})
        return q if (op == "=") == bool(value) else ~q

    return resolve


def _common(prefix: str = "") -> list[Keyword]:
    p = prefix
    return [
        Keyword("id", T.STRING, f"{p}stix_id", "The STIX id"),
        Keyword("internalId", T.INTEGER, "pk", "The internal numeric id"),
        Keyword(
            "isInferred",
            T.BOOLEAN,
            resolver=_inferred(p),
            description="Whether only the rules engine supports the object",
        ),
        Keyword(
            "rule",
            T.STRING,
            f"{p}explanations__rule",
            "A rule that inferred the object",
            sortable=False,
        ),
        Keyword("createdBy", T.STRING, f"{p}created_by__name", "The name of the author identity"),
        Keyword("createdByRef", T.STRING, f"{p}created_by__stix_id", "The author identity id"),
        Keyword("confidence", T.INTEGER, f"{p}confidence", "Confidence 0-100"),
        Keyword("dateAdded", T.DATE, f"{p}date_added", "When the object was added"),
        Keyword("lastUpdated", T.DATE, f"{p}last_updated", "When the object last changed"),
        Keyword("revoked", T.BOOLEAN, f"{p}revoked", "Whether the object is revoked"),
        Keyword(
            "hasCase",
            T.INTEGER,
            subquery=Subquery("cases", inner="node__refs_out__member_id"),
            description="A nested query for the cases that contain the object",
        ),
    ]


OBJECTS = registry.register(
    TqlSchema(
        "intelObjects",
        StixObject,
        [
            *_common(),
            Keyword("type", T.STRING, "type", "The STIX type"),
            Keyword("name", T.STRING, "name", "The name"),
            Keyword("value", T.STRING, "value", "The observable value (or indicator pattern)"),
        ],
    )
)

RELATIONSHIPS = registry.register(
    TqlSchema(
        "intelRelationships",
        Relationship,
        [
            *_common("node__"),
            Keyword("relationshipType", T.STRING, "relationship_type", "The relationship type"),
            Keyword("sourceRef", T.STRING, "source__stix_id", "The source object id"),
            Keyword("targetRef", T.STRING, "target__stix_id", "The target object id"),
            Keyword("sourceType", T.STRING, "source__type", "The source object type"),
            Keyword("targetType", T.STRING, "target__type", "The target object type"),
            Keyword("startTime", T.DATE, "start_time", "The start time"),
            Keyword("stopTime", T.DATE, "stop_time", "The stop time"),
        ],
    )
)

SIGHTINGS = registry.register(
    TqlSchema(
        "intelSightings",
        Sighting,
        [
            *_common("node__"),
            Keyword("sightingOfRef", T.STRING, "sighting_of__stix_id", "The sighted object id"),
            Keyword("whereSightedRef", T.STRING, "where_sighted__stix_id", "Where it was sighted"),
            Keyword("count", T.INTEGER, "count", "How many times"),
            Keyword("firstSeen", T.DATE, "first_seen", "First seen"),
            Keyword("lastSeen", T.DATE, "last_seen", "Last seen"),
            Keyword("falsePositive", T.BOOLEAN, "false_positive", "Marked as a false positive"),
        ],
    )
)
