"""Compile a rule body to one SQL join over the graph's edge tables.

Table and column names come from the models' metadata; every value is a query parameter. The
query selects the head variables and the ids of the facts the explanation rests on, optionally
restricted to combinations that use at least one fact newer than a watermark (semi-naive
evaluation: only new facts can produce new consequences)."""

from dataclasses import dataclass, field

from cti.intel.models import (
    Explanation,
    ExplanationSource,
    ObjectRef,
    Relationship,
    Sighting,
    StixObject,
)
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
EXPLANATION = Explanation._meta.db_table
EXPLANATION_SOURCE = ExplanationSource._meta.db_table


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
    # joins written in the order to run them (PostgreSQL: run with join_collapse_limit = 1)
    ordered: bool = False
    # anti-joins over all data (PostgreSQL: run with hash joins, enable_nestloop = off)
    hashed: bool = False


@dataclass(frozen=True)
class NewFacts:
    """The kinds of facts above a watermark: relationship types, any sighting, any reference."""

    relationship_types: frozenset[str]
    sightings: bool
    refs: bool

    def may_match(self, atom) -> bool:
        if isinstance(atom, Rel):
            return atom.type in self.relationship_types
        if isinstance(atom, SightingAtom):
            return self.sightings
        return self.refs


@dataclass
class _Builder:
    tables: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    table_vars: list[set[str]] = field(default_factory=list)  # the variables each table binds
    where: list[str] = field(default_factory=list)
    params: list = field(default_factory=list)
    bound: dict[str, str] = field(default_factory=dict)  # variable -> column expression
    fact_ids: list[tuple[str, str]] = field(default_factory=list)  # (expression, kind)
    fact_atoms: list = field(default_factory=list)  # the atom of each fact id
    dependencies: list[str] = field(default_factory=list)
    counter: int = 0

    def alias(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def table(self, sql: str, alias: str, variables: set[str]) -> None:
        self.tables.append(sql)
        self.aliases.append(alias)
        self.table_vars.append(variables)

    def bind(self, var: str, expression: str) -> None:
        if var in self.bound:
            self.where.append(f"{self.bound[var]} = {expression}")
        else:
            self.bound[var] = expression

    def node(self, var: str) -> str:
        """Join the node table on a bound variable; returns its alias."""
        alias = self.alias("n")
        self.table(f"{NODE} {alias}", alias, {var})
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
            b.table(f"{REL} {a}", a, {atom.id, atom.source, atom.target})
            b.where.append(f"{a}.relationship_type = %s")
            b.params.append(atom.type)
            b.bind(atom.id, f"{a}.node_id")
            b.bind(atom.source, f"{a}.source_id")
            b.bind(atom.target, f"{a}.target_id")
            b.fact_ids.append((f"{a}.node_id", "node"))
            b.fact_atoms.append(atom)
        elif isinstance(atom, SightingAtom):
            a = b.alias("s")
            b.table(f"{SIGHTING} {a}", a, {atom.id, atom.of, atom.where})
            b.where.append(f"{a}.where_sighted_id IS NOT NULL")
            b.bind(atom.id, f"{a}.node_id")
            b.bind(atom.of, f"{a}.sighting_of_id")
            b.bind(atom.where, f"{a}.where_sighted_id")
            b.fact_ids.append((f"{a}.node_id", "node"))
            b.fact_atoms.append(atom)
        elif isinstance(atom, Ref):
            a = b.alias("o")
            b.table(f"{REF} {a}", a, {atom.id, atom.container, atom.member})
            b.bind(atom.id, f"{a}.id")
            b.bind(atom.container, f"{a}.container_id")
            b.bind(atom.member, f"{a}.member_id")
            b.fact_ids.append((f"{a}.id", "ref"))
            b.fact_atoms.append(atom)


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
            b.table_vars[-1].add(atom.author)
            b.where.append(f"{alias}.created_by_id IS NOT NULL")
            b.bind(atom.author, f"{alias}.created_by_id")


def head_variables_of(head) -> list[str]:
    if isinstance(head, InferRel):
        return [head.source, head.target]
    if isinstance(head, InferSighting):
        return [head.of, head.where]
    if isinstance(head, InferRef):
        return [head.container, head.member]
    if isinstance(head, InferIncident):
        return [head.indicator, head.target]
    raise TypeError(head)  # pragma: no cover - the DSL has no other heads


def head_variables(rule: RuleDefinition) -> list[str]:
    found: list[str] = []
    for head in rule.heads:
        found.extend(n for n in head_variables_of(head) if n not in found)
    return found


def rule_variables(rule: RuleDefinition) -> list[str]:
    """Every variable of the body bound to a node: entities, relationship and sighting ids,
    authors (not container references: their ids are no nodes)."""
    b = _Builder()
    _fact_atoms(rule, b)
    _node_atoms(rule, b)
    refs = {atom.id for atom in rule.body if isinstance(atom, Ref)}
    return [var for var in b.bound if var not in refs]


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
    rule: RuleDefinition,
    node_watermark: int | None = None,
    ref_watermark: int | None = None,
    *,
    focus: list[tuple[str, list[int]]] | None = None,
    missing: bool = False,
    new: "NewFacts | None" = None,
) -> CompiledRule | None:
    """The rule's join. With a watermark, only combinations using at least one fact newer
    than it (semi-naive), as a UNION ALL of one query per fact atom: in the i-th, atom i is
    new and atoms before it are old, so every combination comes once and each query is driven
    by its new facts through the primary key instead of filtering the whole join.

    `new`: what kinds of facts are above the watermark; the queries of atoms that cannot
    match a new fact are left out, and the rule (None) when none is left.
    `focus=[(variable, ids), ...]`: only combinations binding one of the variables to one of
    its ids (a UNION ALL, one query per variable, each driven by its ids).
    `missing=True`: only combinations whose consequence
    is not stored (a head fact absent)."""
    b = _Builder()
    _fact_atoms(rule, b)
    _node_atoms(rule, b)
    _no_self_loops(rule, b)
    head_vars = head_variables(rule)
    columns = [f"{b.bound[v]} AS h{i}" for i, v in enumerate(head_vars)]
    sources = []
    for i, (expression, kind) in enumerate(b.fact_ids):
        columns.append(f"{expression} AS f{i}")
        sources.append(Source(f"f{i}", kind))
    for i, expression in enumerate(b.dependencies):
        columns.append(f"{expression} AS d{i}")
        sources.append(Source(f"d{i}", "node"))

    def select(start: int | None, extra: list[str]) -> str:
        tables = ", ".join(b.tables) if start is None else _joined_from(b, start)
        return f"SELECT {', '.join(columns)} FROM {tables} WHERE {' AND '.join(b.where + extra)}"

    params = list(b.params)
    ordered = hashed = False
    if missing:  # one query per head (an OR of anti-joins would probe row by row)
        parts, params = [], []
        for clause, extra in _missing_heads(rule, b):
            parts.append(select(None, [clause]))
            params += [*b.params, *extra]
        sql = " UNION ALL ".join(parts)
        hashed = True
    elif node_watermark is not None or ref_watermark is not None:
        marked = [
            (i, expression, node_watermark if kind == "node" else ref_watermark)
            for i, (expression, kind) in enumerate(b.fact_ids)
        ]
        marked = [(i, expression, mark) for i, expression, mark in marked if mark is not None]
        parts, params = [], []
        for n, (i, expression, mark) in enumerate(marked):
            if new is not None and not new.may_match(b.fact_atoms[i]):
                continue
            earlier = marked[:n]
            extra = [f"{expression} > %s"] + [f"{e} <= %s" for _, e, _ in earlier]
            parts.append(select(i, extra))
            params += [*b.params, mark, *(m for _, _, m in earlier)]
        if not parts:
            if new is not None:
                return None
            parts, params = [select(None, ["1 = 0"])], list(b.params)
        sql = " UNION ALL ".join(parts)
        ordered = True
    elif focus:
        parts, params = [], []
        for var, ids in focus:
            alias = b.bound[var].split(".", 1)[0]
            parts.append(
                select(
                    b.aliases.index(alias), [f"{b.bound[var]} IN ({', '.join(['%s'] * len(ids))})"]
                )
            )
            params += [*b.params, *ids]
        sql = " UNION ALL ".join(parts)
        ordered = True
    else:
        sql = select(None, [])
    return CompiledRule(
        sql, params, [f"h{i}" for i in range(len(head_vars))], head_vars, sources, ordered, hashed
    )


def _joined_from(b: _Builder, start: int) -> str:
    """The tables joined from `start` outwards, each next one sharing a variable with those
    before it (node tables first, as soon as their variable is bound: they filter)."""
    facts = len(b.fact_ids)
    order, have = [start], set(b.table_vars[start])
    rest = [t for t in range(len(b.tables)) if t != start]
    while rest:
        linked = [t for t in rest if b.table_vars[t] & have]
        pick = next((t for t in linked if t >= facts), linked[0] if linked else rest[0])
        order.append(pick)
        have |= b.table_vars[pick]
        rest.remove(pick)
    return b.tables[start] + "".join(f" JOIN {b.tables[t]} ON 1 = 1" for t in order[1:])


def _missing_heads(rule: RuleDefinition, b: _Builder) -> list[tuple[str, list]]:
    """Per head, SQL true when the row's consequence is not stored (with its parameters): a
    relationship, sighting or reference absent, or (incidents) no explanation of the rule
    resting on the sighting."""
    absent: list[tuple[str, list]] = []
    for head in rule.heads:
        if isinstance(head, InferRel):
            clause = (
                f"NOT EXISTS (SELECT 1 FROM {REL} m WHERE m.relationship_type = %s "
                f"AND m.source_id = {b.bound[head.source]} "
                f"AND m.target_id = {b.bound[head.target]})"
            )
            absent.append((clause, [head.type]))
        elif isinstance(head, InferSighting):
            clause = (
                f"NOT EXISTS (SELECT 1 FROM {SIGHTING} m "
                f"WHERE m.sighting_of_id = {b.bound[head.of]} "
                f"AND m.where_sighted_id = {b.bound[head.where]})"
            )
            absent.append((clause, []))
        elif isinstance(head, InferRef):
            clause = (
                f"NOT EXISTS (SELECT 1 FROM {REF} m WHERE m.container_id = "
                f"{b.bound[head.container]} AND m.member_id = {b.bound[head.member]})"
            )
            absent.append((clause, []))
        elif isinstance(head, InferIncident):
            clause = (
                f"NOT EXISTS (SELECT 1 FROM {EXPLANATION} m JOIN {EXPLANATION_SOURCE} x "
                f"ON x.explanation_id = m.id WHERE m.rule = %s "
                f"AND x.node_id = {b.fact_ids[0][0]})"
            )
            absent.append((clause, [rule.id]))
    return absent
