"""Case exports under /v3/cases/{id}: PDF reports (made in the background), a STIX 2.1
bundle, the timeline (JSON or CSV) and the graph (JSON or SVG). A case the user may not see
is a 404, as on the case API."""

import csv
import io

from django.db import transaction
from django.http import FileResponse, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cti.api.errors import ErrCode, V3Error
from cti.api.permissions import V3RolePermission
from cti.api.renderers import V3JSONRenderer
from cti.api.schema import ErrorEnvelope
from cti.api.viewsets import success
from cti.intel.validation import format_timestamp
from cti.reports import selectors, services, stix
from cti.reports.choices import ReportFormat, ReportStatus
from cti.reports.models import CaseReport
from cti.reports.svg import graph_svg

TAGS = ["case exports"]
ERRORS = {
    400: ErrorEnvelope,
    401: ErrorEnvelope,
    403: ErrorEnvelope,
    404: ErrorEnvelope,
}
CASE_ID = OpenApiParameter("case_id", int, OpenApiParameter.PATH, description="Case id")
REPORT_ID = OpenApiParameter("report_id", int, OpenApiParameter.PATH, description="Report id")


def _format(request: Request, allowed: tuple[str, ...]) -> str:
    value = request.query_params.get("format") or allowed[0]
    if value not in allowed:
        raise V3Error(f"format must be one of: {', '.join(allowed)}.")
    return value


class CaseExportView(APIView):
    permission_classes = [V3RolePermission]

    def perform_content_negotiation(self, request, force=False):
        """`?format=` chooses the export, not a DRF renderer: answers are JSON (errors too)
        unless the view returns a plain HttpResponse (CSV, SVG, PDF)."""
        renderer = V3JSONRenderer()
        return renderer, renderer.media_type

    def case(self, case_id):
        return selectors.visible_case(self.request.user, case_id)


def report_json(report: CaseReport) -> dict:
    data = {
        "id": report.pk,
        "caseId": report.case_id,
        "format": report.format,
        "status": report.status,
        "progress": report.progress,
        "created": format_timestamp(report.created),
    }
    if report.requested_by_id:
        data["requestedBy"] = report.requested_by.get_username()
    if report.finished:
        data["finished"] = format_timestamp(report.finished)
    if report.error:
        data["error"] = report.error
    if report.status == ReportStatus.DONE:
        data["download"] = f"/api/v3/cases/{report.case_id}/reports/{report.pk}/download"
    return data


class CaseReportListView(CaseExportView):
    @extend_schema(
        operation_id="cases_reports_list",
        tags=TAGS,
        parameters=[CASE_ID],
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
    )
    def get(self, request: Request, case_id: str) -> Response:
        case = self.case(case_id)
        reports = CaseReport.objects.filter(case=case).select_related("requested_by")[:100]
        data = [report_json(r) for r in reports]
        return Response(success(data, count=len(data)))

    @extend_schema(
        operation_id="cases_reports_create",
        tags=TAGS,
        parameters=[CASE_ID],
        request=OpenApiTypes.OBJECT,
        description='Body `{"format": "pdf"}`; the report is made in the background: poll '
        "its status, then download it.",
        responses={202: OpenApiTypes.OBJECT, **ERRORS},
    )
    def post(self, request: Request, case_id: str) -> Response:
        case = self.case(case_id)
        body = request.data if isinstance(request.data, dict) else None
        if body is None:
            raise V3Error("Request body must be a JSON object.", ErrCode.IMPROPER_FORMAT)
        wanted = body.get("format", ReportFormat.PDF)
        if wanted not in ReportFormat.values:
            raise V3Error(f"format must be one of: {', '.join(ReportFormat.values)}.")
        with transaction.atomic():
            report = services.report_request(case=case, user=request.user, format=wanted)
        return Response(success(report_json(report), "Accepted"), status=status.HTTP_202_ACCEPTED)


class CaseReportView(CaseExportView):
    @extend_schema(
        operation_id="cases_reports_retrieve",
        tags=TAGS,
        parameters=[CASE_ID, REPORT_ID],
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
    )
    def get(self, request: Request, case_id: str, report_id: str) -> Response:
        report = selectors.case_report(self.case(case_id), report_id)
        return Response(success(report_json(report)))


class CaseReportDownloadView(CaseExportView):
    @extend_schema(
        operation_id="cases_reports_download",
        tags=TAGS,
        parameters=[CASE_ID, REPORT_ID],
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, "The report"),
            409: ErrorEnvelope,
            **ERRORS,
        },
    )
    def get(self, request: Request, case_id: str, report_id: str):
        case = self.case(case_id)
        report = selectors.case_report(case, report_id)
        if report.status != ReportStatus.DONE or not report.file:
            raise V3Error(f"Report {report.pk} is {report.status}, not done.", ErrCode.CONFLICT)
        try:
            handle = report.file.open("rb")
        except FileNotFoundError:
            raise V3Error(
                f"The file of report {report.pk} is missing.", ErrCode.NOT_FOUND
            ) from None
        return FileResponse(
            handle,
            content_type="application/pdf",
            as_attachment=True,
            filename=f"case-{case.pk}-report-{report.pk}.pdf",
        )


class CaseStixView(CaseExportView):
    @extend_schema(
        operation_id="cases_stix_export",
        tags=TAGS,
        parameters=[CASE_ID],
        description="The case as a STIX 2.1 bundle: a grouping of its graph objects (with what "
        "they reference), its notes, and the observables of its artifacts.",
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
    )
    def get(self, request: Request, case_id: str) -> Response:
        return Response(stix.case_bundle(self.case(case_id), request.user))


TIMELINE_COLUMNS = ("date", "kind", "summary", "user", "link")


class CaseTimelineView(CaseExportView):
    @extend_schema(
        operation_id="cases_timeline",
        tags=TAGS,
        parameters=[
            CASE_ID,
            OpenApiParameter("format", str, enum=["json", "csv"], description="json (default)"),
        ],
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "text/csv"): OpenApiTypes.STR,
            **ERRORS,
        },
    )
    def get(self, request: Request, case_id: str):
        wanted = _format(request, ("json", "csv"))
        case = self.case(case_id)
        entries = selectors.case_timeline(case)
        for entry in entries:
            entry["date"] = format_timestamp(entry["date"])
        if wanted == "json":
            return Response(success(entries, count=len(entries)))
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(TIMELINE_COLUMNS)
        for entry in entries:
            writer.writerow([_csv_safe(entry[c]) for c in TIMELINE_COLUMNS])
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="case-{case.pk}-timeline.csv"'
        return response


def _csv_safe(value: object) -> str:
    """Text a spreadsheet would run as a formula is quoted with a leading apostrophe."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class CaseGraphView(CaseExportView):
    @extend_schema(
        operation_id="cases_graph",
        tags=TAGS,
        parameters=[
            CASE_ID,
            OpenApiParameter("format", str, enum=["json", "svg"], description="json (default)"),
        ],
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "image/svg+xml"): OpenApiTypes.STR,
            **ERRORS,
        },
    )
    def get(self, request: Request, case_id: str):
        wanted = _format(request, ("json", "svg"))
        case = self.case(case_id)
        graph = selectors.case_graph(case, request.user)
        if wanted == "json":
            return Response(success(selectors.graph_json(case, graph)))
        return HttpResponse(graph_svg(graph, title=case.name), content_type="image/svg+xml")
