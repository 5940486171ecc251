"""Every inference rule of OpenCTI's registry, with its OpenCTI id, as data."""

from rules.dsl import (
    CONTAINERS,
    IDENTITY,
    LOCATION,
    OBSERVABLE,
    THREATS,
    AuthoredBy,
    InferIncident,
    InferRef,
    InferRel,
    InferSighting,
    Is,
    NotRevoked,
    Ref,
    Rel,
    RuleDefinition,
    Sighting,
)

ALERTING = "Alerting"
VICTIMOLOGY = "Victimology"
PARENT_CHILD = "Parent-child propagation"
REPORTS = "Report propagation"
CORRELATION = "Correlation"
VULNERABILITY = "Vulnerability propagation"
WHERE = IDENTITY + LOCATION


def chain(
    rule_id, name, category, left, right, create, description, left_from=(), right_to=(), middle=()
) -> RuleDefinition:
    """P -left-> A, A -right-> B  =>  P -create-> B."""
    body = [Rel(left, "P", "A", "l"), Rel(right, "A", "B", "r")]
    body += [Is("P", *left_from)] if left_from else []
    body += [Is("A", *middle)] if middle else []
    body += [Is("B", *right_to)] if right_to else []
    return RuleDefinition(
        rule_id,
        name,
        category,
        description,
        display_if=f"A -{left}-> B, B -{right}-> C",
        display_then=f"A -{create}-> C",
        body=tuple(body),
        heads=(InferRel(create, "P", "B"),),
    )


def sibling(rule_id, name, category, left, right, description) -> RuleDefinition:
    """A -left-> B, A -right-> C  =>  C -left-> B."""
    return RuleDefinition(
        rule_id,
        name,
        category,
        description,
        display_if=f"A -{left}-> B, A -{right}-> C",
        display_then=f"C -{left}-> B",
        body=(Rel(left, "A", "B", "l"), Rel(right, "A", "C", "r")),
        heads=(InferRel(left, "C", "B"),),
    )


def container(
    rule_id, name, member_types, relationship, other_types, *, member_is_source=True, description=""
) -> RuleDefinition:
    """Container holds X, X -rel-> Y (or Y -rel-> X)  =>  container holds Y and the rel."""
    rel = Rel(relationship, "X", "Y", "d") if member_is_source else Rel(relationship, "Y", "X", "d")
    arrow = f"X -{relationship}-> Y" if member_is_source else f"Y -{relationship}-> X"
    return RuleDefinition(
        rule_id,
        name,
        REPORTS,
        description,
        display_if=f"Report or case R contains X, {arrow}",
        display_then="R contains Y and the relationship",
        body=(
            Ref("R", "X", "o"),
            Is("R", *CONTAINERS),
            Is("X", *member_types),
            rel,
            Is("Y", *other_types),
        ),
        heads=(InferRef("R", "Y"), InferRef("R", "d")),
    )


RULES: tuple[RuleDefinition, ...] = (
    RuleDefinition(
        "sighting_incident",
        "Raise incident based on sighting",
        ALERTING,
        "An indicator that is not revoked, sighted in an identity, raises an incident that is "
        "related to the indicator and targets the identity.",
        display_if="Indicator A (not revoked) sighted in identity C",
        display_then="Incident D, D related-to A, D targets C",
        body=(
            Sighting("A", "C", "s"),
            Is("A", "indicator", dependency=True),
            NotRevoked("A"),
            Is("C", *IDENTITY),
        ),
        heads=(InferIncident("A", "C"),),
    ),
    RuleDefinition(
        "observe_sighting",
        "Sightings of observables via observed data",
        ALERTING,
        "Observed data authored by X holds observable B and indicator C is based on B: C is "
        "sighted in X.",
        display_if="Observed-data O by X contains observable B, indicator C based-on B",
        display_then="C sighted in X",
        body=(
            Ref("O", "B", "o"),
            Is("O", "observed-data", dependency=True),
            AuthoredBy("O", "X"),
            Is("B", *OBSERVABLE),
            Rel("based-on", "C", "B", "d"),
            Is("C", "indicator"),
        ),
        heads=(InferSighting("C", "X"),),
    ),
    RuleDefinition(
        "sighting_indicator",
        "Sightings propagation from indicator",
        ALERTING,
        "An indicator sighted in B, based on observable C: C is sighted in B.",
        display_if="Indicator A sighted in B, A based-on observable C",
        display_then="C sighted in B",
        body=(
            Sighting("A", "B", "s"),
            Is("A", "indicator"),
            Is("B", *WHERE),
            Rel("based-on", "A", "C", "d"),
            Is("C", *OBSERVABLE),
        ),
        heads=(InferSighting("C", "B"),),
    ),
    RuleDefinition(
        "sighting_observable",
        "Sightings propagation from observable",
        ALERTING,
        "An observable sighted in B, and indicator C based on it: C is sighted in B.",
        display_if="Observable A sighted in B, indicator C based-on A",
        display_then="C sighted in B",
        body=(
            Sighting("A", "B", "s"),
            Is("A", *OBSERVABLE),
            Is("B", *WHERE),
            Rel("based-on", "C", "A", "d"),
            Is("C", "indicator"),
        ),
        heads=(InferSighting("C", "B"),),
    ),
    RuleDefinition(
        "indicate_sighted",
        "Inference of targeting via a sighting",
        VICTIMOLOGY,
        "An indicator of threat B sighted in C: B targets C.",
        display_if="Indicator A indicates B, A sighted in C",
        display_then="B targets C",
        body=(
            Rel("indicates", "A", "B", "i"),
            Is("A", "indicator"),
            Is("B", *THREATS),
            Sighting("A", "C", "s"),
            Is("C", *WHERE),
        ),
        heads=(InferRel("targets", "B", "C"),),
    ),
    RuleDefinition(
        "observable_related",
        "Relation propagation via an observable",
        CORRELATION,
        "An observable related to a threat B and to C: B and C are related.",
        display_if="Observable A related-to B (a threat), A related-to C",
        display_then="B related-to C, C related-to B",
        body=(
            Rel("related-to", "A", "B", "l"),
            Is("A", *OBSERVABLE),
            Is("B", *THREATS),
            Rel("related-to", "A", "C", "r"),
        ),
        heads=(InferRel("related-to", "B", "C"), InferRel("related-to", "C", "B")),
    ),
    chain(
        "attribution_attribution",
        "Attribution propagation",
        PARENT_CHILD,
        "attributed-to",
        "attributed-to",
        "attributed-to",
        "A attributed to B attributed to C: A is attributed to C.",
    ),
    chain(
        "part_part",
        "Belonging propagation",
        PARENT_CHILD,
        "part-of",
        "part-of",
        "part-of",
        "A part of B part of C: A is part of C.",
    ),
    chain(
        "location_location",
        "Location propagation",
        PARENT_CHILD,
        "located-at",
        "located-at",
        "located-at",
        "A located at B located at C: A is located at C.",
    ),
    chain(
        "participate-to_parts",
        "Organization propagation via participation",
        PARENT_CHILD,
        "participate-to",
        "part-of",
        "participate-to",
        "A user participating in organization B, part of organization C, participates in C.",
        middle=("identity:organization",),
        right_to=("identity:organization",),
    ),
    sibling(
        "attribution_use",
        "Usage propagation via attribution",
        REPORTS,
        "uses",
        "attributed-to",
        "A uses B and is attributed to C: C uses B.",
    ),
    sibling(
        "attribution_targets",
        "Targeting propagation via attribution",
        VICTIMOLOGY,
        "targets",
        "attributed-to",
        "A targets B and is attributed to C: C targets B.",
    ),
    chain(
        "part-of_targets",
        "Targeting propagation via belonging",
        VICTIMOLOGY,
        "targets",
        "part-of",
        "targets",
        "A targets identity B, part of C: A targets C.",
        middle=IDENTITY,
        right_to=IDENTITY,
    ),
    chain(
        "location_targets",
        "Targeting propagation via location",
        VICTIMOLOGY,
        "targets",
        "located-at",
        "targets",
        "A targets B, located at C: A targets C.",
        right_to=LOCATION,
    ),
    RuleDefinition(
        "localization_of_targets",
        "Targeting propagation when located",
        VICTIMOLOGY,
        "A targeting relationship located at D: A targets D.",
        display_if="A targets B (relationship R), R located-at D",
        display_then="A targets D",
        body=(Rel("targets", "A", "B", "t"), Rel("located-at", "t", "D", "l"), Is("D", *LOCATION)),
        heads=(InferRel("targets", "A", "D"),),
    ),
    container(
        "report_ref_identity_part_of",
        "Identities propagation in reports",
        IDENTITY,
        "part-of",
        IDENTITY,
        description="A report or case holding an identity holds what it is part of.",
    ),
    container(
        "report_ref_location_located_at",
        "Locations propagation in reports",
        LOCATION,
        "located-at",
        LOCATION,
        description="A report or case holding a location holds where it is located.",
    ),
    container(
        "report_ref_indicator_based_on",
        "Observables propagation in reports",
        ("indicator",),
        "based-on",
        OBSERVABLE,
        description="A report or case holding an indicator holds its observables.",
    ),
    container(
        "report_ref_observable_based_on",
        "Indicators propagation in reports",
        OBSERVABLE,
        "based-on",
        ("indicator",),
        member_is_source=False,
        description="A report or case holding an observable holds the indicators based on it.",
    ),
    container(
        "report_ref_observable_belongs_to",
        "Observables propagation in reports via belongs-to",
        OBSERVABLE,
        "belongs-to",
        OBSERVABLE,
        description="A report or case holding an observable holds what it belongs to.",
    ),
    chain(
        "parent_technique_use",
        "Usage propagation of parent techniques",
        VICTIMOLOGY,
        "uses",
        "subtechnique-of",
        "uses",
        "A uses sub-technique B of C: A uses C.",
    ),
    chain(
        "attribution_indicator_indicates",
        "Indicator propagation via attribution",
        CORRELATION,
        "indicates",
        "attributed-to",
        "indicates",
        "Indicator C indicates A, attributed to B: C indicates B.",
        left_from=("indicator",),
    ),
    chain(
        "attribution_observable_related",
        "Observable relation propagation via attribution",
        CORRELATION,
        "related-to",
        "attributed-to",
        "related-to",
        "C related to A, attributed to B: C is related to B.",
    ),
    chain(
        "belongs_to_attributed",
        "Belongs-to propagation via attribution",
        CORRELATION,
        "belongs-to",
        "attributed-to",
        "belongs-to",
        "A belongs to B, attributed to C: A belongs to C.",
    ),
    RuleDefinition(
        "infrastructure_observable_related",
        "Observable related to entity via infrastructure",
        CORRELATION,
        "A uses infrastructure B consisting of observable C: C is related to A.",
        display_if="A uses infrastructure B, B consists-of observable C",
        display_then="C related-to A",
        body=(
            Rel("uses", "A", "B", "l"),
            Is("B", "infrastructure"),
            Rel("consists-of", "B", "C", "r"),
            Is("C", *OBSERVABLE),
        ),
        heads=(InferRel("related-to", "C", "A"),),
    ),
    chain(
        "vulnerability_software_to_system",
        "Vulnerability propagation via software usage",
        VULNERABILITY,
        "uses",
        "has",
        "has",
        "System A uses software B that has vulnerability C: A has C.",
        left_from=("identity:system",),
        middle=("software",),
        right_to=("vulnerability",),
    ),
    chain(
        "vulnerability_software_to_infra",
        "Software vulnerability propagation to infrastructure",
        VULNERABILITY,
        "consists-of",
        "has",
        "has",
        "Infrastructure A consists of software B that has vulnerability C: A has C.",
        left_from=("infrastructure",),
        middle=("software",),
        right_to=("vulnerability",),
    ),
)

RULES_BY_ID = {rule.id: rule for rule in RULES}
