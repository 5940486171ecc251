"""How case-management rows are scoped to a user (see cti.security.visibility).

Cases, templates and tags belong to an owner; a case's tasks, artifacts, notes, events,
attributes and opinions belong to the case's owner. A case with a userAccess list is visible only
to the users on it (and administrators), and so is everything in it."""

from collections.abc import Callable

from django.db.models import Q

from cases.models import (
    Artifact,
    Case,
    CaseAttribute,
    CaseOpinion,
    Note,
    Tag,
    Task,
    WorkflowEvent,
    WorkflowTemplate,
)
from cti.security import visibility
from cti.security.visibility import Viewer

CASE_CHILDREN = (Task, Artifact, Note, WorkflowEvent, CaseAttribute, CaseOpinion)


def user_access_q(case_id_path: str) -> Callable[[Viewer], Q]:
    """Cases without a userAccess list, or with the viewer on it (by the case id at the path)."""

    def rule(viewer: Viewer) -> Q:
        through = Case.user_access.through.objects
        restricted = through.values("case_id")
        allowed = through.filter(user_id=getattr(viewer.user, "pk", None)).values("case_id")
        return ~Q(**{f"{case_id_path}__in": restricted}) | Q(**{f"{case_id_path}__in": allowed})

    return rule


def register_rules() -> None:
    visibility.register(Case, "owner", access=user_access_q("pk"))
    for model in CASE_CHILDREN:
        visibility.register(model, "case__owner", access=user_access_q("case_id"))
    visibility.register(WorkflowTemplate, "owner")
    visibility.register(Tag, "owner")
