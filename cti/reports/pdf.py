"""The case report as HTML (a Django template administrators may replace) and as PDF.

The template is looked up by name through Django's template loaders, so a file
`reports/case_report.html` in a directory of TEMPLATES["DIRS"] wins over the one shipped in
this app; setting CTI_REPORT_TEMPLATE names another template altogether."""

import base64
from collections.abc import Callable

from django.conf import settings
from django.template.loader import get_template
from django.utils import timezone

from cases.models import Artifact, Case, Note, Task
from cti.intel.models import ObjectRef, StixObject
from cti.reports import selectors
from cti.reports.svg import graph_svg

DEFAULT_TEMPLATE = "reports/case_report.html"

Progress = Callable[[int], None]


def template_name() -> str:
    return getattr(settings, "CTI_REPORT_TEMPLATE", "") or DEFAULT_TEMPLATE


def _assignee(obj) -> str:
    who = obj.assignee_user or obj.assignee_group
    return str(who) if who else ""


def opinions_of(case: Case, graph: selectors.CaseGraph) -> list[dict]:
    """The case's own opinions (lessons learned), then STIX opinions about its objects."""
    own = [
        {
            "opinion": o.opinion,
            "explanation": o.explanation,
            "authors": str(o.author or ""),
            "created": o.date_added,
        }
        for o in case.opinions.select_related("author").order_by("date_added", "pk")
    ]
    ids = [n.pk for n in graph.nodes]
    if not ids:
        return own
    opinions = StixObject.objects.filter(
        type="opinion",
        pk__in=ObjectRef.objects.filter(member_id__in=ids).values("container_id"),
    ).order_by("created", "pk")
    return own + [
        {
            "opinion": o.properties.get("opinion", ""),
            "explanation": o.properties.get("explanation", ""),
            "authors": ", ".join(o.properties.get("authors") or ()),
            "created": o.created,
        }
        for o in opinions
    ]


def report_context(case: Case, progress: Progress | None = None, user=None) -> dict:
    tick = progress or (lambda percent: None)
    tasks = list(
        Task.objects.filter(case=case).select_related(
            "assignee_user", "assignee_group", "completed_by"
        )
    )
    for task in tasks:
        task.assignee_name = _assignee(task)
    artifacts = list(
        Artifact.objects.filter(case=case).select_related("artifact_type", "observable", "task")
    )
    notes = list(Note.objects.filter(case=case).select_related("author", "task", "artifact"))
    tick(20)
    graph = selectors.case_graph(case, user)
    tick(35)
    svg = graph_svg(graph, title=case.name)
    tick(45)
    timeline = selectors.case_timeline(case)
    tags = list(case.tags.all())
    return {
        "case": case,
        "assignee": _assignee(case),
        "tags": tags,
        "tasks": tasks,
        "artifacts": artifacts,
        "notes": notes,
        "timeline": timeline,
        "techniques": selectors.attack_techniques(case, graph),
        "opinions": opinions_of(case, graph),
        "graph": graph,
        "edge_count": len(graph.relationships) + len(graph.sightings),
        "graph_svg": svg,
        "graph_svg_uri": "data:image/svg+xml;base64,"
        + base64.b64encode(svg.encode("utf-8")).decode("ascii"),
        "generated": timezone.now(),
    }


def render_html(case: Case, progress: Progress | None = None, user=None) -> str:
    context = report_context(case, progress, user)
    return get_template(template_name()).render(context)


def render_pdf(case: Case, progress: Progress | None = None, user=None) -> bytes:
    from weasyprint import HTML  # imported here: loading pango is slow and only workers need it

    tick = progress or (lambda percent: None)
    html = render_html(case, tick, user)
    tick(60)
    # no base URL: user text is escaped by the template, and the template's own images are
    # data: URIs or absolute addresses
    return HTML(string=html).write_pdf()
