"""For every rule: a small graph where it fires, with the exact facts and explanations it must
infer, and graphs where it must not fire."""

from dataclasses import dataclass, field

from tests.rules.graphs import (
    asn,
    identity,
    indicator,
    ipv4,
    location,
    observed_data,
    rel,
    report,
    sdo,
    sighting,
    software,
)


@dataclass
class Case:
    objects: list[dict]
    # fact (by STIX ids) -> the sources of each of its explanations (sorted STIX ids)
    expected: dict[tuple, set[tuple[str, ...]]] = field(default_factory=dict)


def _x(*sources: str) -> tuple[str, ...]:
    return tuple(sorted(sources))


def chain_case(left: str, right: str, create: str, p: dict, a: dict, b: dict) -> Case:
    left_rel, right_rel = rel(left, p, a), rel(right, a, b)
    return Case(
        [p, a, b, left_rel, right_rel],
        {("rel", create, p["id"], b["id"]): {_x(left_rel["id"], right_rel["id"])}},
    )


def container_case(member: dict, rel_obj: dict, other: dict, container: dict | None = None):
    container = container or report(f"r-{member['id']}", [member])
    return Case(
        [member, other, container, rel_obj],
        {
            ("ref", container["id"], other["id"]): {
                _x(f"ref:{container['id']}:{member['id']}", rel_obj["id"])
            },
            ("ref", container["id"], rel_obj["id"]): {
                _x(f"ref:{container['id']}:{member['id']}", rel_obj["id"])
            },
        },
    )


# ---- where each rule fires --------------------------------------------------------------


def fires_sighting_incident() -> Case:
    ind, org = indicator(1), identity(1)
    s = sighting(ind, org)
    return Case([ind, org, s])  # the incident is checked by its own test


def fires_observe_sighting() -> Case:
    author, ip, ind = identity("author"), ipv4(1), indicator(1)
    od = observed_data(1, [ip], author=author)
    based = rel("based-on", ind, ip)
    return Case(
        [author, ip, ind, od, based],
        {
            ("sighting", ind["id"], author["id"]): {
                _x(f"ref:{od['id']}:{ip['id']}", based["id"], od["id"])
            }
        },
    )


def fires_sighting_indicator() -> Case:
    ind, org, ip = indicator(1), identity(1), ipv4(1)
    s, based = sighting(ind, org), rel("based-on", ind, ip)
    return Case(
        [ind, org, ip, s, based], {("sighting", ip["id"], org["id"]): {_x(s["id"], based["id"])}}
    )


def fires_sighting_observable() -> Case:
    ip, place, ind = ipv4(1), location(1), indicator(1)
    s, based = sighting(ip, place), rel("based-on", ind, ip)
    return Case(
        [ip, place, ind, s, based],
        {("sighting", ind["id"], place["id"]): {_x(s["id"], based["id"])}},
    )


def fires_indicate_sighted() -> Case:
    ind, mal, org = indicator(1), sdo("malware", 1), identity(1)
    ind_rel, s = rel("indicates", ind, mal), sighting(ind, org)
    return Case(
        [ind, mal, org, ind_rel, s],
        {("rel", "targets", mal["id"], org["id"]): {_x(ind_rel["id"], s["id"])}},
    )


def fires_observable_related() -> Case:
    ip, actor, tool = ipv4(1), sdo("threat-actor", 1), sdo("tool", 1)
    left, right = rel("related-to", ip, actor), rel("related-to", ip, tool)
    return Case(
        [ip, actor, tool, left, right],
        {
            ("rel", "related-to", actor["id"], tool["id"]): {_x(left["id"], right["id"])},
            ("rel", "related-to", tool["id"], actor["id"]): {_x(left["id"], right["id"])},
        },
    )


def fires_participate_to_parts() -> Case:
    person, org1, org2 = identity("p", "individual"), identity(1), identity(2)
    return chain_case("participate-to", "part-of", "participate-to", person, org1, org2)


def fires_localization_of_targets() -> Case:
    camp, org, place = sdo("campaign", 1), identity(1), location(1)
    targets = rel("targets", camp, org)
    located = rel("located-at", targets, place)
    return Case(
        [camp, org, place, targets, located],
        {("rel", "targets", camp["id"], place["id"]): {_x(targets["id"], located["id"])}},
    )


def fires_observable_based_on() -> Case:
    ip, ind = ipv4(1), indicator(1)
    return container_case(ip, rel("based-on", ind, ip), ind)


def fires_infrastructure_observable_related() -> Case:
    actor, infra, ip = sdo("intrusion-set", 1), sdo("infrastructure", 1), ipv4(1)
    uses, consists = rel("uses", actor, infra), rel("consists-of", infra, ip)
    return Case(
        [actor, infra, ip, uses, consists],
        {("rel", "related-to", ip["id"], actor["id"]): {_x(uses["id"], consists["id"])}},
    )


def sibling_case(left: str, a: dict, b: dict, c: dict) -> Case:
    left_rel, right_rel = rel(left, a, b), rel("attributed-to", a, c)
    return Case(
        [a, b, c, left_rel, right_rel],
        {("rel", left, c["id"], b["id"]): {_x(left_rel["id"], right_rel["id"])}},
    )


FIRES = {
    "sighting_incident": fires_sighting_incident,
    "observe_sighting": fires_observe_sighting,
    "sighting_indicator": fires_sighting_indicator,
    "sighting_observable": fires_sighting_observable,
    "indicate_sighted": fires_indicate_sighted,
    "observable_related": fires_observable_related,
    "attribution_attribution": lambda: chain_case(
        "attributed-to",
        "attributed-to",
        "attributed-to",
        sdo("campaign", 1),
        sdo("intrusion-set", 1),
        sdo("threat-actor", 1),
    ),
    "part_part": lambda: chain_case(
        "part-of", "part-of", "part-of", identity(1), identity(2), identity(3, "sector")
    ),
    "location_location": lambda: chain_case(
        "located-at",
        "located-at",
        "located-at",
        location("lyon", city="Lyon"),
        location("fr", country="FR"),
        location("eu", region="europe"),
    ),
    "participate-to_parts": fires_participate_to_parts,
    "attribution_use": lambda: sibling_case(
        "uses", sdo("intrusion-set", 1), sdo("malware", 1), sdo("threat-actor", 1)
    ),
    "attribution_targets": lambda: sibling_case(
        "targets", sdo("campaign", 1), identity(1), sdo("intrusion-set", 1)
    ),
    "part-of_targets": lambda: chain_case(
        "targets", "part-of", "targets", sdo("campaign", 1), identity(1), identity(2, "sector")
    ),
    "location_targets": lambda: chain_case(
        "targets", "located-at", "targets", sdo("campaign", 1), identity(1), location(1)
    ),
    "localization_of_targets": fires_localization_of_targets,
    "report_ref_identity_part_of": lambda: container_case(
        identity(1), rel("part-of", identity(1), identity(2)), identity(2)
    ),
    "report_ref_location_located_at": lambda: container_case(
        location(1), rel("located-at", location(1), location(2)), location(2)
    ),
    "report_ref_indicator_based_on": lambda: container_case(
        indicator(1), rel("based-on", indicator(1), ipv4(1)), ipv4(1)
    ),
    "report_ref_observable_based_on": fires_observable_based_on,
    "report_ref_observable_belongs_to": lambda: container_case(
        ipv4(1), rel("belongs-to", ipv4(1), asn(64500)), asn(64500)
    ),
    "parent_technique_use": lambda: chain_case(
        "uses",
        "subtechnique-of",
        "uses",
        sdo("intrusion-set", 1),
        sdo("attack-pattern", "T1566.001"),
        sdo("attack-pattern", "T1566"),
    ),
    "attribution_indicator_indicates": lambda: chain_case(
        "indicates",
        "attributed-to",
        "indicates",
        indicator(1),
        sdo("campaign", 1),
        sdo("intrusion-set", 1),
    ),
    "attribution_observable_related": lambda: chain_case(
        "related-to",
        "attributed-to",
        "related-to",
        ipv4(1),
        sdo("campaign", 1),
        sdo("intrusion-set", 1),
    ),
    "belongs_to_attributed": lambda: chain_case(
        "belongs-to",
        "attributed-to",
        "belongs-to",
        ipv4(1),
        sdo("intrusion-set", 1),
        sdo("threat-actor", 1),
    ),
    "infrastructure_observable_related": fires_infrastructure_observable_related,
    "vulnerability_software_to_system": lambda: chain_case(
        "uses",
        "has",
        "has",
        identity("siem", "system"),
        software("nginx"),
        sdo("vulnerability", "CVE-2024-0001"),
    ),
    "vulnerability_software_to_infra": lambda: chain_case(
        "consists-of",
        "has",
        "has",
        sdo("infrastructure", 1),
        software("nginx"),
        sdo("vulnerability", "CVE-2024-0001"),
    ),
}


# ---- where each rule must not fire ------------------------------------------------------


def _objs(*items) -> list[dict]:
    return list(items)


def _chain_objs(left: str, right: str, p: dict, a: dict, b: dict) -> list[dict]:
    return [p, a, b, rel(left, p, a), rel(right, a, b)]


def _cycle(rel_type: str, a: dict, b: dict) -> list[dict]:
    """a -t-> b -t-> a: the chain rules would only infer self-loops."""
    return [a, b, rel(rel_type, a, b), rel(rel_type, b, a)]


def _container(member, rel_obj, other, container=None) -> list[dict]:
    return [member, other, container or report("r1", [member]), rel_obj]


NOT_FIRES: dict[str, dict[str, object]] = {
    "sighting_incident": {
        "revoked indicator": lambda: _objs(
            indicator(1, revoked=True), identity(1), sighting(indicator(1), identity(1))
        ),
        "sighted in a location": lambda: _objs(
            indicator(1), location(1), sighting(indicator(1), location(1))
        ),
        "an observable sighted": lambda: _objs(
            ipv4(1), identity(1), sighting(ipv4(1), identity(1))
        ),
    },
    "observe_sighting": {
        "observed data without created_by": lambda: _objs(
            ipv4(1),
            indicator(1),
            observed_data(1, [ipv4(1)]),
            rel("based-on", indicator(1), ipv4(1)),
        ),
        "based-on from a non-indicator": lambda: _objs(
            identity("a"),
            ipv4(1),
            sdo("malware", 1),
            observed_data(1, [ipv4(1)], author=identity("a")),
            rel("based-on", sdo("malware", 1), ipv4(1)),
        ),
        "a report instead of observed data": lambda: _objs(
            identity("a"),
            ipv4(1),
            indicator(1),
            report(1, [ipv4(1)], created_by_ref=identity("a")["id"]),
            rel("based-on", indicator(1), ipv4(1)),
        ),
    },
    "sighting_indicator": {
        "based on a non-observable": lambda: _objs(
            indicator(1),
            identity(1),
            sdo("malware", 1),
            sighting(indicator(1), identity(1)),
            rel("based-on", indicator(1), sdo("malware", 1)),
        ),
        "sighted in a malware": lambda: _objs(
            indicator(1),
            sdo("malware", 2),
            ipv4(1),
            sighting(indicator(1), sdo("malware", 2)),
            rel("based-on", indicator(1), ipv4(1)),
        ),
    },
    "sighting_observable": {
        "based-on from a non-indicator": lambda: _objs(
            ipv4(1),
            identity(1),
            sdo("malware", 1),
            sighting(ipv4(1), identity(1)),
            rel("based-on", sdo("malware", 1), ipv4(1)),
        ),
        "the sighted object is not an observable": lambda: _objs(
            sdo("malware", 1),
            identity(1),
            indicator(1),
            sighting(sdo("malware", 1), identity(1)),
            rel("based-on", indicator(1), sdo("malware", 1)),
        ),
    },
    "indicate_sighted": {
        "indicates an attack pattern": lambda: _objs(
            indicator(1),
            sdo("attack-pattern", 1),
            identity(1),
            rel("indicates", indicator(1), sdo("attack-pattern", 1)),
            sighting(indicator(1), identity(1)),
        ),
        "no sighting of the indicator": lambda: _objs(
            indicator(1),
            indicator(2),
            sdo("malware", 1),
            identity(1),
            rel("indicates", indicator(1), sdo("malware", 1)),
            sighting(indicator(2), identity(1)),
        ),
    },
    "observable_related": {
        "no threat among the related": lambda: _objs(
            ipv4(1),
            sdo("tool", 1),
            sdo("vulnerability", 1),
            rel("related-to", ipv4(1), sdo("tool", 1)),
            rel("related-to", ipv4(1), sdo("vulnerability", 1)),
        ),
        "source is not an observable": lambda: _objs(
            indicator(1),
            sdo("malware", 1),
            sdo("campaign", 1),
            rel("related-to", indicator(1), sdo("malware", 1)),
            rel("related-to", indicator(1), sdo("campaign", 1)),
        ),
        "one related-to only (no self-loop)": lambda: _objs(
            ipv4(1), sdo("malware", 1), rel("related-to", ipv4(1), sdo("malware", 1))
        ),
    },
    "attribution_attribution": {
        "self-loop": lambda: _cycle(
            "attributed-to", sdo("intrusion-set", 1), sdo("threat-actor", 1)
        ),
        "other relationship type": lambda: _chain_objs(
            "attributed-to",
            "related-to",
            sdo("campaign", 1),
            sdo("intrusion-set", 1),
            sdo("threat-actor", 1),
        ),
    },
    "part_part": {
        "self-loop": lambda: _cycle("part-of", identity(1), identity(2)),
        "other relationship type": lambda: _chain_objs(
            "part-of", "located-at", identity(1), identity(2), location(1)
        ),
    },
    "location_location": {
        "self-loop": lambda: _cycle("located-at", location(1), location(2)),
        "reversed chain": lambda: _objs(
            location(1),
            location(2),
            location(3),
            rel("located-at", location(1), location(2)),
            rel("located-at", location(3), location(2)),
        ),
    },
    "participate-to_parts": {
        "part of a sector": lambda: _chain_objs(
            "participate-to",
            "part-of",
            identity("p", "individual"),
            identity(1),
            identity(2, "sector"),
        ),
        "participating in a sector": lambda: _chain_objs(
            "participate-to",
            "part-of",
            identity("p", "individual"),
            identity(1, "sector"),
            identity(2),
        ),
    },
    "attribution_use": {
        "self-loop": lambda: _objs(
            sdo("intrusion-set", 1),
            sdo("threat-actor", 1),
            rel("uses", sdo("intrusion-set", 1), sdo("threat-actor", 1)),
            rel("attributed-to", sdo("intrusion-set", 1), sdo("threat-actor", 1)),
        ),
        "attribution of the used object": lambda: _objs(
            sdo("intrusion-set", 1),
            sdo("malware", 1),
            sdo("threat-actor", 1),
            rel("uses", sdo("intrusion-set", 1), sdo("malware", 1)),
            rel("attributed-to", sdo("malware", 1), sdo("threat-actor", 1)),
        ),
    },
    "attribution_targets": {
        "self-loop": lambda: _objs(
            sdo("campaign", 1),
            sdo("intrusion-set", 1),
            rel("targets", sdo("campaign", 1), sdo("intrusion-set", 1)),
            rel("attributed-to", sdo("campaign", 1), sdo("intrusion-set", 1)),
        ),
        "uses instead of targets": lambda: _objs(
            sdo("campaign", 1),
            sdo("malware", 1),
            sdo("intrusion-set", 1),
            rel("uses", sdo("campaign", 1), sdo("malware", 1)),
            rel("attributed-to", sdo("campaign", 1), sdo("intrusion-set", 1)),
        ),
    },
    "part-of_targets": {
        "target is not an identity": lambda: _chain_objs(
            "targets", "part-of", sdo("campaign", 1), location(1), identity(2)
        ),
        "whole is not an identity": lambda: _chain_objs(
            "targets", "part-of", sdo("campaign", 1), identity(1), sdo("intrusion-set", 2)
        ),
    },
    "location_targets": {
        "located at a non-location": lambda: _chain_objs(
            "targets", "located-at", sdo("campaign", 1), identity(1), identity(2)
        ),
        "self-loop": lambda: _chain_objs(
            "targets", "located-at", location(1), identity(1), location(1)
        )[1:],
    },
    "localization_of_targets": {
        "located at a non-location": lambda: _objs(
            sdo("campaign", 1),
            identity(1),
            identity(2),
            rel("targets", sdo("campaign", 1), identity(1)),
            rel("located-at", rel("targets", sdo("campaign", 1), identity(1)), identity(2)),
        ),
        "a uses relationship located": lambda: _objs(
            sdo("campaign", 1),
            sdo("malware", 1),
            location(1),
            rel("uses", sdo("campaign", 1), sdo("malware", 1)),
            rel("located-at", rel("uses", sdo("campaign", 1), sdo("malware", 1)), location(1)),
        ),
    },
    "report_ref_identity_part_of": {
        "member is a location": lambda: _container(
            location(1), rel("part-of", location(1), identity(2)), identity(2)
        ),
        "whole is not an identity": lambda: _container(
            identity(1),
            rel("part-of", identity(1), sdo("intrusion-set", 1)),
            sdo("intrusion-set", 1),
        ),
        "a grouping is not a report": lambda: _container(
            identity(1),
            rel("part-of", identity(1), identity(2)),
            identity(2),
            sdo("grouping", 1, context="suspicious-activity", object_refs=[identity(1)["id"]]),
        ),
    },
    "report_ref_location_located_at": {
        "member is an identity": lambda: _container(
            identity(1), rel("located-at", identity(1), location(2)), location(2)
        ),
    },
    "report_ref_indicator_based_on": {
        "observed data is not a report": lambda: _container(
            indicator(1),
            rel("based-on", indicator(1), ipv4(1)),
            ipv4(1),
            observed_data(1, [indicator(1)]),
        ),
        "based on a non-observable": lambda: _container(
            indicator(1), rel("based-on", indicator(1), sdo("malware", 1)), sdo("malware", 1)
        ),
    },
    "report_ref_observable_based_on": {
        "based-on from a non-indicator": lambda: _container(
            ipv4(1), rel("based-on", sdo("tool", 1), ipv4(1)), sdo("tool", 1)
        ),
        "member is the source, not the target": lambda: _container(
            ipv4(1), rel("based-on", ipv4(1), indicator(1)), indicator(1)
        ),
    },
    "report_ref_observable_belongs_to": {
        "belongs to a non-observable": lambda: _container(
            ipv4(1), rel("belongs-to", ipv4(1), identity(1)), identity(1)
        ),
    },
    "parent_technique_use": {
        "parent used, not the sub-technique": lambda: _objs(
            sdo("intrusion-set", 1),
            sdo("attack-pattern", 1),
            sdo("attack-pattern", 2),
            rel("uses", sdo("intrusion-set", 1), sdo("attack-pattern", 1)),
            rel("subtechnique-of", sdo("attack-pattern", 2), sdo("attack-pattern", 1)),
        ),
    },
    "attribution_indicator_indicates": {
        "source is not an indicator": lambda: _chain_objs(
            "indicates",
            "attributed-to",
            sdo("malware", 1),
            sdo("campaign", 1),
            sdo("intrusion-set", 1),
        ),
    },
    "attribution_observable_related": {
        "self-loop": lambda: _chain_objs(
            "related-to",
            "attributed-to",
            sdo("intrusion-set", 1),
            sdo("campaign", 1),
            sdo("intrusion-set", 1),
        )[1:],
    },
    "belongs_to_attributed": {
        "attribution in the other direction": lambda: _objs(
            ipv4(1),
            sdo("intrusion-set", 1),
            sdo("threat-actor", 1),
            rel("belongs-to", ipv4(1), sdo("intrusion-set", 1)),
            rel("attributed-to", sdo("threat-actor", 1), sdo("intrusion-set", 1)),
        ),
    },
    "infrastructure_observable_related": {
        "a tool is not an infrastructure": lambda: _objs(
            sdo("intrusion-set", 1),
            sdo("tool", 1),
            ipv4(1),
            rel("uses", sdo("intrusion-set", 1), sdo("tool", 1)),
            rel("consists-of", sdo("tool", 1), ipv4(1)),
        ),
        "consists of a non-observable": lambda: _objs(
            sdo("intrusion-set", 1),
            sdo("infrastructure", 1),
            sdo("malware", 1),
            rel("uses", sdo("intrusion-set", 1), sdo("infrastructure", 1)),
            rel("consists-of", sdo("infrastructure", 1), sdo("malware", 1)),
        ),
    },
    "vulnerability_software_to_system": {
        "an organization is not a system": lambda: _chain_objs(
            "uses", "has", identity(1), software("nginx"), sdo("vulnerability", 1)
        ),
        "a tool is not software": lambda: _chain_objs(
            "uses", "has", identity("s", "system"), sdo("tool", 1), sdo("vulnerability", 1)
        ),
    },
    "vulnerability_software_to_infra": {
        "a tool is not software": lambda: _chain_objs(
            "consists-of", "has", sdo("infrastructure", 1), sdo("tool", 1), sdo("vulnerability", 1)
        ),
        "has a non-vulnerability": lambda: _chain_objs(
            "consists-of", "has", sdo("infrastructure", 1), software("nginx"), sdo("malware", 1)
        ),
    },
}
