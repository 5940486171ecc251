import logging

from celery import shared_task
from celery.signals import worker_ready

from cti.reports import services


@shared_task(name="reports.render_case_report", acks_late=True)
def render_case_report(report_id: int) -> str | None:
    report = services.run_report(report_id)
    return report.status if report else None


@worker_ready.connect
def resume_pending_reports(sender=None, **kwargs) -> None:
    """Enqueue again the reports requested while the broker was down (their message was lost;
    the row waits as pending)."""
    from django.db import DatabaseError

    try:
        pending = services.pending_report_ids()
    except DatabaseError:  # not migrated yet: nothing to resume
        logging.getLogger(__name__).warning("reports: could not look for pending reports")
        return
    for report_id in pending:
        render_case_report.delay(report_id)
