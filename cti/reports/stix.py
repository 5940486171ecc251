"""A case as a STIX 2.1 bundle: the case as a `grouping` of its graph members (the objects
themselves, serialised by cti.intel.selectors, with what they reference), its notes as STIX
`note`s and its owner as the author `identity`. Tasks and artifacts without an observable
travel as custom properties of the grouping (STIX has no object for them)."""

from cases.models import Artifact, Case, Note, Task
from cti.intel import selectors as intel
from cti.intel.choices import CASE
from cti.intel.ids import derived_id, random_id
from cti.intel.models import StixObject
from cti.intel.validation import format_timestamp


def _stamp(value) -> str:
    return format_timestamp(value)


# the owner has no date of its own; a fixed one keeps every export's identity the same version
OWNER_IDENTITY_DATE = "2020-01-01T00:00:00.000Z"


def owner_identity(case: Case) -> dict:
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": derived_id("identity", "owner", case.owner.name),
        "created": OWNER_IDENTITY_DATE,
        "modified": OWNER_IDENTITY_DATE,
        "name": case.owner.name,
        "identity_class": "organization",
    }


def _tasks(case: Case) -> list[dict]:
    out = []
    for task in Task.objects.filter(case=case).select_related("assignee_user", "assignee_group"):
        item = {"name": task.name, "status": task.status, "required": task.required}
        who = task.assignee_user or task.assignee_group
        if who:
            item["assignee"] = str(who)
        for key in ("due_date", "completed_date"):
            if getattr(task, key):
                item[key] = _stamp(getattr(task, key))
        out.append(item)
    return out


def case_bundle(case: Case, user=None) -> dict:
    """The case as a STIX grouping with its contents: the objects `user` may see (all when
    None), and what they depend on that the user may see too."""
    members: set[int] = intel.case_contents(case.node_id) if case.node_id else set()
    observables = set(
        Artifact.objects.filter(case=case, observable__isnull=False).values_list(
            "observable_id", flat=True
        )
    )
    members = intel.visible_node_ids(user, members)
    observables = intel.visible_node_ids(user, observables)
    refs = sorted(
        StixObject.objects.filter(pk__in=members | observables)
        .exclude(type=CASE)
        .values_list("stix_id", flat=True)
    )
    dependencies = intel.visible_node_ids(user, intel.with_dependencies(members | observables))
    objects = list(intel.iter_bundle_objects(dependencies))
    author = owner_identity(case)
    grouping_id = derived_id("grouping", "case", case.xid)
    notes = [
        {
            "type": "note",
            "spec_version": "2.1",
            "id": derived_id("note", "case-note", case.xid, str(note.pk)),
            "created": _stamp(note.date_added),
            "modified": _stamp(note.last_modified),
            "created_by_ref": author["id"],
            "content": note.text,
            **({"authors": [note.author.get_username()]} if note.author else {}),
            "object_refs": [grouping_id],
        }
        for note in Note.objects.filter(case=case).select_related("author")
    ]
    loose_artifacts = [
        {"type": a.artifact_type.name, "summary": a.summary}
        for a in Artifact.objects.filter(case=case, observable__isnull=True).select_related(
            "artifact_type"
        )
    ]
    grouping = {
        "type": "grouping",
        "spec_version": "2.1",
        "id": grouping_id,
        "created": _stamp(case.date_added),
        "modified": _stamp(case.last_updated),
        "created_by_ref": author["id"],
        "name": case.name,
        "context": "suspicious-activity",
        # a grouping must reference something: an empty case holds its author only
        "object_refs": refs or [author["id"]],
        "x_cti_case_id": case.pk,
        "x_cti_case_xid": case.xid,
        "x_cti_status": case.status,
        "x_cti_severity": case.severity,
    }
    if case.description:
        grouping["description"] = case.description
    for key, value in (
        ("x_cti_priority", case.priority),
        ("x_cti_case_type", case.case_type),
        ("x_cti_resolution", case.resolution),
        ("x_cti_artifacts", loose_artifacts),
        ("x_cti_tasks", _tasks(case)),
    ):
        if value:  # STIX allows no empty strings or lists
            grouping[key] = value
    return {
        "type": "bundle",
        "id": random_id("bundle"),
        "objects": [grouping, author, *notes, *objects],
    }
