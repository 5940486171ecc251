"""The rule language: a rule is a conjunction of fact patterns (its body) and what it infers
(its head). Variables are plain strings; the compiler turns a body into one SQL join.

Body atoms
    Rel(type, source, target, id)      a relationship fact (id: its node)
    Sighting(of, where, id)            a sighting fact
    Ref(container, member, id)         a container reference (report/case object_refs)
    Is(var, *types, dependency=False)  the node bound to var has one of the types; a type may
                                       name a subtype ("identity:system"); with dependency=True
                                       the node itself is a source of the explanation (its
                                       attributes matter: revoked, created_by)
    NotRevoked(var)                    the node is not revoked
    AuthoredBy(var, author)            the node's created_by is author
Heads
    InferRel(type, source, target)     InferSighting(of, where)     InferRef(container, member)
    InferIncident(indicator, target)   (an Incident entity, related-to the indicator and
                                       targeting the target)
"""

from dataclasses import dataclass, field

from cti.intel.choices import OBSERVABLE_TYPES

# type families as OpenCTI matches them (a type and its parents)
OBSERVABLE = OBSERVABLE_TYPES
IDENTITY = ("identity",)
LOCATION = ("location",)
CONTAINERS = ("report", "x-cti-case")
THREATS = ("threat-actor", "intrusion-set", "campaign", "incident", "malware")


@dataclass(frozen=True)
class Rel:
    type: str
    source: str
    target: str
    id: str


@dataclass(frozen=True)
class Sighting:
    of: str
    where: str
    id: str


@dataclass(frozen=True)
class Ref:
    container: str
    member: str
    id: str


@dataclass(frozen=True)
class Is:
    var: str
    types: tuple[str, ...]
    dependency: bool = False

    def __init__(self, var: str, *types: str, dependency: bool = False) -> None:
        object.__setattr__(self, "var", var)
        object.__setattr__(self, "types", tuple(types))
        object.__setattr__(self, "dependency", dependency)


@dataclass(frozen=True)
class NotRevoked:
    var: str


@dataclass(frozen=True)
class AuthoredBy:
    var: str
    author: str


@dataclass(frozen=True)
class InferRel:
    type: str
    source: str
    target: str


@dataclass(frozen=True)
class InferSighting:
    of: str
    where: str


@dataclass(frozen=True)
class InferRef:
    container: str
    member: str


@dataclass(frozen=True)
class InferIncident:
    indicator: str
    target: str


Atom = Rel | Sighting | Ref | Is | NotRevoked | AuthoredBy
Head = InferRel | InferSighting | InferRef | InferIncident


@dataclass(frozen=True)
class RuleDefinition:
    id: str
    name: str
    category: str
    description: str
    display_if: str
    display_then: str
    body: tuple[Atom, ...]
    heads: tuple[Head, ...]
    # head variables that must differ (no self-loops)
    distinct: tuple[tuple[str, str], ...] = field(default=())
