"""Reads behind the case exports: the visible case, its timeline and its graph."""

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db.models import Q

from cases.models import Artifact, Case, Note, Task, WorkflowEvent
from cti.api.errors import ErrCode, V3Error
from cti.api.params import parse_pk
from cti.api.resources import scoped_filter
from cti.intel.choices import CASE, RELATIONSHIP, SIGHTING
from cti.intel.models import ObjectRef, Relationship, Sighting, StixObject
from cti.reports.models import CaseReport
from cti.security.visibility import scope_for, visible

EDGE_TYPES = (RELATIONSHIP, SIGHTING)


def visible_case(user, case_id: object) -> Case:
    """The case if the user may see it; a hidden or missing case is the same 404."""
    pk = parse_pk(case_id)
    case = None
    if pk is not None:
        case = (
            visible(Case.objects.filter(pk=pk), user)
            .select_related("assignee_user", "assignee_group", "owner", "node")
            .first()
        )
    if case is None:
        raise V3Error(f"Case {case_id} not found.", ErrCode.NOT_FOUND)
    return case


def case_report(case: Case, report_id: object) -> CaseReport:
    pk = parse_pk(report_id)
    report = CaseReport.objects.filter(case=case, pk=pk).first() if pk is not None else None
    if report is None:
        raise V3Error(f"Report {report_id} not found.", ErrCode.NOT_FOUND)
    return report


# ---- timeline ---------------------------------------------------------------------------


def _user_name(user) -> str:
    return user.get_username() if user else ""


def _entry(when: datetime, kind: str, summary: str, user, link: str, **extra) -> dict:
    return {
        "date": when,
        "kind": kind,
        "summary": summary,
        "user": _user_name(user),
        "link": link,
        **extra,
    }


def case_timeline(case: Case) -> list[dict]:
    """Workflow events, task completions, notes and artifacts added, oldest first.

    The system events written when a note or an artifact is added, or a task completed, are
    left out: the note, artifact or completion is listed itself, with its details. A
    completion is a task's current completed date (a task completed twice counts once; the
    earlier completion is still in the workflow events if recorded by hand)."""
    entries: list[dict] = []
    added_by = {}  # link -> the user of the system event left out (who added the artifact)
    events = WorkflowEvent.objects.filter(case=case, deleted=False).select_related("user")
    for event in events:
        if event.system_generated and _duplicated(event):
            added_by.setdefault(event.link, event.user)
            continue
        kind = "system" if event.system_generated else "event"
        entries.append(
            _entry(event.event_date, kind, event.summary, event.user, event.link, id=event.pk)
        )
    tasks = Task.objects.filter(case=case, completed_date__isnull=False).select_related(
        "completed_by"
    )
    for task in tasks:
        entries.append(
            _entry(
                task.completed_date,
                "task_completed",
                f"Task completed: {task.name}",
                task.completed_by,
                f"/api/v3/tasks/{task.pk}",
                id=task.pk,
            )
        )
    for note in Note.objects.filter(case=case).select_related("author"):
        entries.append(
            _entry(
                note.date_added,
                "note",
                note.text,
                note.author,
                f"/api/v3/notes/{note.pk}",
                id=note.pk,
            )
        )
    artifacts = Artifact.objects.filter(case=case).select_related("artifact_type")
    for artifact in artifacts:
        link = f"/api/v3/artifacts/{artifact.pk}"
        entries.append(
            _entry(
                artifact.date_added,
                "artifact",
                f"{artifact.artifact_type.name}: {artifact.summary}",
                added_by.get(link),
                link,
                id=artifact.pk,
            )
        )
    kinds = {"event": 0, "system": 0, "task_completed": 1, "artifact": 2, "note": 3}
    entries.sort(key=lambda e: (e["date"], kinds[e["kind"]], e["id"]))
    return entries


def _duplicated(event: WorkflowEvent) -> bool:
    link = event.link or ""
    if link.startswith(("/api/v3/notes/", "/api/v3/artifacts/")):
        return True
    return link.startswith("/api/v3/tasks/") and event.summary.startswith("Task completed:")


# ---- graph ------------------------------------------------------------------------------


@dataclass
class CaseGraph:
    nodes: list[StixObject] = field(default_factory=list)
    relationships: list[Relationship] = field(default_factory=list)
    sightings: list[Sighting] = field(default_factory=list)
    member_ids: set[int] = field(default_factory=set)
    truncated: bool = False


def graph_max_nodes() -> int:
    return int(getattr(settings, "CTI_REPORT_GRAPH_MAX_NODES", 500))


def case_graph(case: Case, user=None) -> CaseGraph:
    """The case's members as nodes; relationships and sightings between them (and those the
    case holds itself, with their ends) as edges: those objects `user` may see (all when None,
    the system). Four queries whatever the size; at most CTI_REPORT_GRAPH_MAX_NODES member
    objects (by id), `truncated` says when more exist."""
    graph = CaseGraph()
    if not case.node_id:
        return graph
    limit = graph_max_nodes()
    scope = _graph_scope(user)
    refs = list(
        ObjectRef.objects.filter(container_id=case.node_id, **scope("member_id"))
        .exclude(member__type=CASE)
        .select_related("member")
        .order_by("member_id")[: limit + 1]
    )
    if len(refs) > limit:
        graph.truncated = True
        refs = refs[:limit]
    base = {r.member_id: r.member for r in refs if r.member.type not in EDGE_TYPES}
    member_edges = {r.member_id for r in refs if r.member.type in EDGE_TYPES}
    graph.member_ids = set(base)
    nodes = dict(base)
    rels = (
        Relationship.objects.filter(
            Q(node_id__in=member_edges) | Q(source_id__in=base.keys(), target_id__in=base.keys())
        )
        .filter(**scope("node_id"), **scope("source_id"), **scope("target_id"))
        .select_related("node", "source", "target")
        .order_by("node_id")
    )
    sightings = (
        Sighting.objects.filter(
            Q(node_id__in=member_edges)
            | Q(sighting_of_id__in=base.keys(), where_sighted_id__in=base.keys())
        )
        .filter(where_sighted__isnull=False)
        .filter(**scope("node_id"), **scope("sighting_of_id"), **scope("where_sighted_id"))
        .select_related("node", "sighting_of", "where_sighted")
        .order_by("node_id")
    )
    for rel in rels:
        graph.relationships.append(rel)
        nodes.setdefault(rel.source_id, rel.source)
        nodes.setdefault(rel.target_id, rel.target)
    for sighting in sightings:
        graph.sightings.append(sighting)
        nodes.setdefault(sighting.sighting_of_id, sighting.sighting_of)
        nodes.setdefault(sighting.where_sighted_id, sighting.where_sighted)
    # an edge whose end is itself an edge (a relationship about a relationship) is drawn
    # between the objects only: keep node types that are not edges
    graph.nodes = sorted(
        (n for n in nodes.values() if n.type not in EDGE_TYPES), key=lambda n: n.pk
    )
    kept = {n.pk for n in graph.nodes}
    graph.relationships = [
        r for r in graph.relationships if r.source_id in kept and r.target_id in kept
    ]
    return graph


def _graph_scope(user):
    """path -> filter kwargs keeping rows whose object at `path` the user may see."""
    scope = scope_for(user)
    return lambda path: scoped_filter(scope, StixObject, path)


def node_label(node: StixObject) -> str:
    return node.name or node.value or node.stix_id


def graph_json(case: Case, graph: CaseGraph) -> dict:
    nodes = [
        {
            "id": n.stix_id,
            "type": n.type,
            "name": node_label(n),
            "inferred": n.is_inferred,
            "member": n.pk in graph.member_ids,
        }
        for n in graph.nodes
    ]
    edges = [
        {
            "id": r.node.stix_id,
            "source": r.source.stix_id,
            "target": r.target.stix_id,
            "type": r.relationship_type,
            "kind": "relationship",
            "inferred": r.node.is_inferred,
        }
        for r in graph.relationships
    ] + [
        {
            "id": s.node.stix_id,
            "source": s.sighting_of.stix_id,
            "target": s.where_sighted.stix_id,
            "type": "sighted-in",
            "kind": "sighting",
            "inferred": s.node.is_inferred,
            "count": s.count,
        }
        for s in graph.sightings
    ]
    return {
        "case": {"id": case.pk, "xid": case.xid, "name": case.name},
        "nodes": nodes,
        "edges": edges,
        "truncated": graph.truncated,
    }


# ---- ATT&CK -----------------------------------------------------------------------------


def attack_techniques(case: Case, graph: CaseGraph) -> list[dict]:
    """Attack patterns in the case's graph, then the case's ATT&CK tags not already named."""
    found: dict[str, dict] = {}
    for node in graph.nodes:
        if node.type != "attack-pattern":
            continue
        technique_id = _external_id(node.properties)
        key = technique_id or node.stix_id
        found.setdefault(
            key,
            {
                "techniqueId": technique_id,
                "name": node.name,
                "source": "graph",
                "inferred": node.is_inferred,
            },
        )
    for tag in case.tags.all():
        if not tag.technique_id or tag.technique_id in found:
            continue
        name = tag.name.split(" ", 1)[1].lstrip(" -") if " " in tag.name else tag.name
        found[tag.technique_id] = {
            "techniqueId": tag.technique_id,
            "name": name,
            "source": "tag",
            "inferred": False,
        }
    return sorted(found.values(), key=lambda t: (t["techniqueId"] or "~", t["name"]))


def _external_id(properties: dict) -> str | None:
    for ref in properties.get("external_references") or ():
        if isinstance(ref, dict) and ref.get("source_name") == "mitre-attack":
            return ref.get("external_id")
    return None
