from celery import shared_task

from cti.reports import services


@shared_task(name="reports.render_case_report", acks_late=True)
def render_case_report(report_id: int) -> str | None:
    report = services.run_report(report_id)
    return report.status if report else None
