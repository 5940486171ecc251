"""What an event is about: the incident or sighting, its indicator, the target (the system
where it was sighted), the observables the indicator is based on, and their context."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q

from cti.automation import mapping
from cti.automation.choices import MAX_CONTEXT_NODES, TriggerKind
from cti.automation.models import CaseAutomation
from cti.events.models import Event
from cti.intel.choices import CONTAINER_TYPES
from cti.intel.models import Relationship, Sighting, StixObject
from cti.intel.validation import StixInvalid, parse_timestamp

INCIDENT = "incident"
INDICATOR = "indicator"


def wanted_event_kinds() -> set[str]:
    """The event kinds some enabled automation reacts to."""
    return set(CaseAutomation.objects.filter(enabled=True).values_list("event_kind", flat=True))


@dataclass
class EventFacts:
    kind: str
    node: StixObject  # the incident, or the sighting's node
    when: datetime
    incident: StixObject | None = None
    sighting: Sighting | None = None
    indicator: StixObject | None = None
    target: StixObject | None = None
    observables: list[StixObject] = field(default_factory=list)
    severity: str | None = None  # a SeverityLevel value

    @property
    def label(self) -> str:
        node = self.node
        if self.sighting is not None:
            of = self.sighting.sighting_of
            where = self.sighting.where_sighted
            return f"sighting of {_name(of)} in {_name(where)}"
        return node.name or node.stix_id


def _name(node: StixObject | None) -> str:
    if node is None:
        return ""
    return node.name or node.value or node.stix_id


def _targets(source: StixObject, relationship_type: str, **target) -> list[StixObject]:
    rels = Relationship.objects.filter(
        source=source,
        relationship_type=relationship_type,
        **{f"target__{k}": v for k, v in target.items()},
    )
    return [r.target for r in rels.select_related("target").order_by("pk")]


def event_facts(event: Event) -> EventFacts | None:
    """None when the event's object no longer exists (deleted before dispatch)."""
    if event.kind == TriggerKind.INCIDENT_CREATED:
        return _incident_facts(event)
    if event.kind == TriggerKind.SIGHTING_RECORDED:
        return _sighting_facts(event)
    return None


def _incident_facts(event: Event) -> EventFacts | None:
    incident = StixObject.objects.filter(pk=event.object_id, type=INCIDENT).first()
    if incident is None:
        return None
    indicator = next(iter(_targets(incident, "related-to", type=INDICATOR)), None)
    target = next(iter(_targets(incident, "targets")), None)
    facts = EventFacts(
        kind=event.kind,
        node=incident,
        when=seen(incident.properties) or event.created,
        incident=incident,
        indicator=indicator,
        target=target,
        severity=mapping.level_value(incident.properties.get("severity")),
    )
    if indicator is not None:
        facts.observables = _targets(indicator, "based-on")
    return facts


def seen(properties: dict, keys=("last_seen", "first_seen")) -> datetime | None:
    """The first of `keys` that holds a timestamp (when an incident happened), else None."""
    for key in keys:
        text = properties.get(key)
        if isinstance(text, str) and text:
            try:
                return parse_timestamp(text, key)
            except StixInvalid:
                continue
    return None


def _sighting_facts(event: Event) -> EventFacts | None:
    sighting = (
        Sighting.objects.select_related("node", "sighting_of", "where_sighted")
        .filter(pk=event.object_id)
        .first()
    )
    if sighting is None:
        return None
    of = sighting.sighting_of
    facts = EventFacts(
        kind=event.kind,
        node=sighting.node,
        when=sighting.last_seen or sighting.first_seen or event.created,
        sighting=sighting,
    )
    facts.target = sighting.where_sighted
    if of.type == INDICATOR:
        facts.indicator = of
        facts.observables = _targets(of, "based-on")
        facts.severity = mapping.level_from_confidence(of.confidence)
    else:  # a sighted observable stands for itself
        facts.observables = [of]
    return facts


def context_node_ids(facts: EventFacts, depth: int) -> list[int]:
    """The nodes a case opened for the event holds: the event's object, indicator, target,
    observables, the sightings of the indicator on the target and, for `depth` >= 1, the
    nodes (and relationships) one hop from the incident and the indicator; depth 2 goes one
    more hop from the indicator's neighbours. Other incidents and case containers are left
    out, and the total is capped at MAX_CONTEXT_NODES."""
    found: dict[int, None] = {}

    def add(*pks: int | None) -> None:
        for pk in pks:
            if pk is not None and len(found) < MAX_CONTEXT_NODES:
                found.setdefault(pk, None)

    add(facts.node.pk)
    add(*(n.pk for n in (facts.incident, facts.indicator, facts.target) if n is not None))
    add(*(o.pk for o in facts.observables))
    if facts.indicator is not None and facts.target is not None:
        add(
            *Sighting.objects.filter(
                sighting_of=facts.indicator, where_sighted=facts.target
            ).values_list("pk", flat=True)[:50]
        )
    if depth < 1:
        return list(found)
    if facts.incident is not None:
        _hop({facts.incident.pk}, facts, add)
    if facts.indicator is None:
        return list(found)
    frontier = _hop({facts.indicator.pk}, facts, add)
    if depth >= 2:
        frontier -= {n.pk for n in (facts.incident, facts.target) if n is not None}
        _hop(frontier, facts, add)
    return list(found)


def _hop(sources: set[int], facts: EventFacts, add) -> set[int]:
    """Adds the relationships touching `sources` and the nodes at their other ends; returns
    those nodes."""
    if not sources:
        return set()
    own = facts.incident.pk if facts.incident is not None else None
    skip = ~Q(type__in=[INCIDENT, *CONTAINER_TYPES]) | Q(pk=own)
    allowed = set(
        StixObject.objects.filter(
            Q(edges_out__target_id__in=sources) | Q(edges_in__source_id__in=sources)
        )
        .filter(skip)
        .values_list("pk", flat=True)[:MAX_CONTEXT_NODES]
    )
    rels = Relationship.objects.filter(
        Q(source_id__in=sources, target_id__in=allowed)
        | Q(target_id__in=sources, source_id__in=allowed)
    ).values_list("node_id", "source_id", "target_id")[:MAX_CONTEXT_NODES]
    reached = set()
    for node, source, target in rels:
        other = target if source in sources else source
        add(node, other)
        reached.add(other)
    return reached
