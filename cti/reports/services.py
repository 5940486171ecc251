"""Writes for case reports: request one (enqueued after commit) and produce it."""

import logging

from django.core.files.base import ContentFile
from django.utils import timezone

from cases.models import Case
from cti.reports.choices import ReportFormat, ReportStatus
from cti.reports.models import CaseReport
from cti.transactions import on_commit_enqueue

log = logging.getLogger(__name__)


def report_request(*, case: Case, user, format: str = ReportFormat.PDF) -> CaseReport:
    from cti.reports.tasks import render_case_report

    report = CaseReport.objects.create(
        case=case, format=format, requested_by=user if user and user.is_authenticated else None
    )
    on_commit_enqueue(lambda: render_case_report.delay(report.pk))
    return report


def pending_report_ids() -> list[int]:
    return list(CaseReport.objects.filter(status=ReportStatus.PENDING).values_list("pk", flat=True))


def _set_progress(report_id: int):
    def tick(percent: int) -> None:
        CaseReport.objects.filter(pk=report_id, status=ReportStatus.RUNNING).update(
            progress=percent
        )

    return tick


def run_report(report_id: int) -> CaseReport | None:
    """Produce the report's file. Idempotent: a report already done or failed is left as it
    is; one left running by a worker that died is produced again."""
    from cti.reports.pdf import render_pdf

    claimed = CaseReport.objects.filter(
        pk=report_id, status__in=(ReportStatus.PENDING, ReportStatus.RUNNING)
    ).update(status=ReportStatus.RUNNING, progress=5, error="")
    if not claimed:
        return None
    report = CaseReport.objects.select_related(
        "case__owner", "case__assignee_user", "requested_by"
    ).get(pk=report_id)
    case = report.case
    try:
        content = render_pdf(case, _set_progress(report_id), report.requested_by)
        _set_progress(report_id)(90)
        name = f"case-{case.pk}-report-{report.pk}.pdf"
        report.file.save(name, ContentFile(content), save=False)
    except Exception as exc:
        log.exception("case report %s failed", report_id)
        CaseReport.objects.filter(pk=report_id).update(
            status=ReportStatus.FAILED, error=repr(exc)[:2000], finished=timezone.now()
        )
        report.refresh_from_db()
        return report
    CaseReport.objects.filter(pk=report_id).update(
        status=ReportStatus.DONE, progress=100, file=report.file.name, finished=timezone.now()
    )
    report.refresh_from_db()
    return report
