"""Compile a rule body to one SQL join over the graph's edge tables.

Table and column names come from the models' metadata; every value is a query parameter. The
query selects the head variables and the ids of the facts the explanation rests on, optionally
restricted to combinations that use at least one fact newer than a watermark (semi-naive
evaluation: only new facts can produce new consequences)."""

from dataclasses import dataclass, field

from cti.intel.models import ObjectRef, Relationship, Sighting, StixObject
from rules.dsl import (
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
)
from rules.dsl import Sighting as SightingAtom

REL = Relationship._meta.db_table
SIGHTING = Sighting._meta.db_table
REF = ObjectRef._meta.db_table
NODE = StixObject._meta.db_table


@dataclass(frozen=True)
class Source:
    column: str  # output column name
    kind: str  # "node" or "ref"


@dataclass
class CompiledRule:
    sql: str
    params: list
    head_columns: list[str]  # one per head variable, in `head_vars` order
    head_vars: list[str]
    sources: list[Source]


@dataclass
class _Builder:
    tables: list[str] = field(default_factory=list)
    where: list[str] = field(default_factory=list)
    params: list = field(default_factory=list)
    bound: dict[str, str] = field(default_factory=dict)  # variable -> column expression
    fact_ids: list[tuple[str, str]] = field(default_factory=list)  # (expression, kind)
    dependencies: list[str] = field(default_factory=list)
    counter: int = 0

    def alias(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def bind(self, var: str, expression: str) -> None:
        if var in self.bound:
            self.where.append(f"{self.bound[var]} = {expression}")
        else:
            self.bound[var] = expression

    def node(self, var: str) -> str:
        """Join the node table on a bound variable; returns its alias."""
        alias = self.alias("n")
        self.tables.append(f"{NODE} {alias}")
        self.where.append(f"{alias}.id = {self.bound[var]}")
        return alias


def _type_condition(alias: str, types: tuple[str, ...], params: list) -> str:
    plain = [t for t in types if ":" not in t]
    parts = []
    if plain:
        parts.append(f"{alias}.type IN ({', '.join(['%s'] * len(plain))})")
        params.extend(plain)
    for spec in (t for t in types if ":" in t):
        stix_type, subtype = spec.split(":", 1)
        parts.append(f"({alias}.type = %s AND {alias}.subtype = %s)")
        params.extend([stix_type, subtype])
    return "(" + " OR ".join(parts) + ")"


def _fact_atoms(rule: RuleDefinition, b: _Builder) -> None:
    for atom in rule.body:
        if isinstance(atom, Rel):
            a = b.alias("r")
            b.tables.append(f"{REL} {a}")
            b.where.append(f"{a}.relationship_type = %s")
            b.params.append(atom.type)
            b.bind(atom.id, f"{a}.node_id")
            b.bind(atom.source, f"{a}.source_id")
            b.bind(atom.target, f"{a}.target_id")
            b.fact_ids.append((f"{a}.node_id", "node"))
        elif isinstance(atom, SightingAtom):
            a = b.alias("s")
            b.tables.append(f"{SIGHTING} {a}")
            b.where.append(f"{a}.where_sighted_id IS NOT NULL")
            b.bind(atom.id, f"{a}.node_id")
            b.bind(atom.of, f"{a}.sighting_of_id")
            b.bind(atom.where, f"{a}.where_sighted_id")
            b.fact_ids.append((f"{a}.node_id", "node"))
        elif isinstance(atom, Ref):
            a = b.alias("o")
            b.tables.append(f"{REF} {a}")
            b.bind(atom.id, f"{a}.id")
            b.bind(atom.container, f"{a}.container_id")
            b.bind(atom.member, f"{a}.member_id")
            b.fact_ids.append((f"{a}.id", "ref"))


def _node_atoms(rule: RuleDefinition, b: _Builder) -> None:
    for atom in rule.body:
        if isinstance(atom, Is):
            alias = b.node(atom.var)
            b.where.append(_type_condition(alias, atom.types, b.params))
            if atom.dependency:
                b.dependencies.append(b.bound[atom.var])
        elif isinstance(atom, NotRevoked):
            alias = b.node(atom.var)
            b.where.append(f"{alias}.revoked = %s")
            b.params.append(False)
        elif isinstance(atom, AuthoredBy):
            alias = b.node(atom.var)
            b.where.append(f"{alias}.created_by_id IS NOT NULL")
            b.bind(atom.author, f"{alias}.created_by_id")


def head_variables(rule: RuleDefinition) -> list[str]:
    found: list[str] = []
    for head in rule.heads:
        if isinstance(head, InferRel):
            names = [head.source, head.target]
        elif isinstance(head, InferSighting):
            names = [head.of, head.where]
        elif isinstance(head, InferRef):
            names = [head.container, head.member]
        elif isinstance(head, InferIncident):
            names = [head.indicator, head.target]
        else:  # pragma: no cover - the DSL has no other heads
            raise TypeError(head)
        found.extend(n for n in names if n not in found)
    return found


def _no_self_loops(rule: RuleDefinition, b: _Builder) -> None:
    for head in rule.heads:
        pair = None
        if isinstance(head, InferRel):
            pair = (head.source, head.target)
        elif isinstance(head, InferSighting):
            pair = (head.of, head.where)
        elif isinstance(head, InferRef):
            pair = (head.container, head.member)
        if pair:
            b.where.append(f"{b.bound[pair[0]]} <> {b.bound[pair[1]]}")


def compile_rule(
    rule: RuleDefinition, node_watermark: int | None = None, ref_watermark: int | None = None
) -> CompiledRule:
    b = _Builder()
    _fact_atoms(rule, b)
    _node_atoms(rule, b)
    _no_self_loops(rule, b)
    if node_watermark is not None or ref_watermark is not None:
        newer = []
        for expression, kind in b.fact_ids:
            mark = node_watermark if kind == "node" else ref_watermark
            if mark is not None:
                newer.append(f"{expression} > %s")
                b.params.append(mark)
        b.where.append("(" + " OR ".join(newer) + ")" if newer else "1 = 0")
    head_vars = head_variables(rule)
    columns = [f"{b.bound[v]} AS h{i}" for i, v in enumerate(head_vars)]
    sources = []
    for i, (expression, kind) in enumerate(b.fact_ids):
        columns.append(f"{expression} AS f{i}")
        sources.append(Source(f"f{i}", kind))
    for i, expression in enumerate(b.dependencies):
        columns.append(f"{expression} AS d{i}")
        sources.append(Source(f"d{i}", "node"))
    sql = (
        f"SELECT DISTINCT {', '.join(columns)} FROM {', '.join(b.tables)} "
        f"WHERE {' AND '.join(b.where)}"
    )
    return CompiledRule(sql, b.params, [f"h{i}" for i in range(len(head_vars))], head_vars, sources)
