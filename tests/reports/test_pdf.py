"""PDF case reports: requested through the API, produced by the Celery task (run here
synchronously), polled and downloaded; the template can be replaced."""

from pathlib import Path

import pypdfium2
import pytest
from django.conf import settings as django_settings

from cti.reports.models import CaseReport
from cti.reports.tasks import render_case_report
from tests.reports.conftest import CASE_NAME, TECHNIQUE

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def _request(api, case_id, django_capture_on_commit_callbacks, body=None) -> dict:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post_json(f"/api/v3/cases/{case_id}/reports", body or {"format": "pdf"})
    assert response.status_code == 202, response.json()
    assert len(callbacks) == 1  # the task is enqueued once the request commits
    return response.json()["data"]


def _text(pdf: pypdfium2.PdfDocument) -> str:
    return "\n".join(page.get_textpage().get_text_range() for page in pdf)


def test_pdf_report_from_request_to_download(api, story, media, django_capture_on_commit_callbacks):
    case_id = story.case["id"]
    opinion = {"caseId": case_id, "opinion": "agree", "explanation": "Block earlier next time"}
    assert api.post_json("/api/v3/caseOpinions", opinion).status_code == 201
    requested = _request(api, case_id, django_capture_on_commit_callbacks)
    assert (requested["status"], requested["progress"]) == ("pending", 0)
    pending = api.get(f"/api/v3/cases/{case_id}/reports/{requested['id']}/download")
    assert pending.status_code == 409
    assert pending.json()["status"] == "Error"

    assert render_case_report(requested["id"]) == "done"

    status = api.get(f"/api/v3/cases/{case_id}/reports/{requested['id']}").json()["data"]
    assert (status["status"], status["progress"]) == ("done", 100)
    assert status["download"].endswith(f"/reports/{requested['id']}/download")
    listed = api.get(f"/api/v3/cases/{case_id}/reports").json()["data"]
    assert [r["id"] for r in listed] == [requested["id"]]
    response = api.get(status["download"])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    content = b"".join(response.streaming_content)
    assert content.startswith(b"%PDF")
    report = CaseReport.objects.get(pk=requested["id"])
    assert Path(report.file.path).is_relative_to(media)

    pdf = pypdfium2.PdfDocument(content)
    text = _text(pdf)
    for expected in (
        CASE_NAME,
        "High",  # severity
        "P2",
        "Incident Response",
        "analyst@example.com",  # assignee
        "Triage the mailbox",
        "Block the sender",
        "Closed",
        "paper-cut.example",
        "Invoice 4711 overdue",
        "user clicked the invoice link",
        TECHNIQUE,
        "T1566.001",
        "T1059",  # from the case's ATT&CK tag
        "strongly-agree",  # the STIX opinion on the technique
        "Block earlier next time",  # the case's own opinion
        "Task completed: Triage the mailbox",  # timeline
    ):
        assert expected in text, expected
    # the pages as pictures, to look at (CTI_VAR_DIR/case-report-page1.png ...)
    for number, page in enumerate(pdf, start=1):
        out = Path(django_settings.VAR_DIR) / f"case-report-page{number}.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        page.render(scale=1.4).to_pil().save(out)
        assert out.stat().st_size > 10_000

    # running the task again (a redelivered message) changes nothing
    assert render_case_report(requested["id"]) is None
    assert CaseReport.objects.get(pk=requested["id"]).file.name == report.file.name


def test_bad_report_requests(api, story):
    case_id = story.case["id"]
    response = api.post_json(f"/api/v3/cases/{case_id}/reports", {"format": "docx"})
    assert response.status_code == 400
    assert "format must be one of" in response.json()["message"]
    response = api.post_json(f"/api/v3/cases/{case_id}/reports", ["pdf"])
    assert response.status_code == 400
    assert api.get(f"/api/v3/cases/{case_id}/reports/424242").status_code == 404
    assert not CaseReport.objects.exists()


def test_a_failing_render_is_recorded(api, story, settings, django_capture_on_commit_callbacks):
    settings.CTI_REPORT_TEMPLATE = "reports/no_such_template.html"
    requested = _request(api, story.case["id"], django_capture_on_commit_callbacks)
    assert render_case_report(requested["id"]) == "failed"
    status = api.get(f"/api/v3/cases/{story.case['id']}/reports/{requested['id']}").json()["data"]
    assert status["status"] == "failed"
    assert "no_such_template" in status["error"]
    assert "finished" in status


def test_administrators_replace_the_template(
    api, story, settings, tmp_path, django_capture_on_commit_callbacks
):
    templates = tmp_path / "templates" / "reports"
    templates.mkdir(parents=True)
    (templates / "case_report.html").write_text(
        "<html><body><h1>ACME SOC report</h1><p>{{ case.name }} / {{ case.severity }}</p>"
        "{% for t in techniques %}<p>{{ t.techniqueId }}</p>{% endfor %}</body></html>"
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [str(tmp_path / "templates")]},
    ]
    requested = _request(api, story.case["id"], django_capture_on_commit_callbacks)
    assert render_case_report(requested["id"]) == "done"
    report = CaseReport.objects.get(pk=requested["id"])
    with report.file.open("rb") as handle:
        text = _text(pypdfium2.PdfDocument(handle.read()))
    assert "ACME SOC report" in text
    assert f"{CASE_NAME} / High" in text
    assert "T1566.001" in text
    assert "Block the sender" not in text  # the shipped template was not used


def test_read_only_users_cannot_request_reports(story, readonly_credential):
    from tests.conftest import V3Client

    reader = V3Client(readonly_credential.token)
    response = reader.post_json(f"/api/v3/cases/{story.case['id']}/reports", {"format": "pdf"})
    assert response.status_code == 403
    assert reader.get(f"/api/v3/cases/{story.case['id']}/timeline").status_code == 200


def test_progress_is_visible_while_the_report_is_made(
    api, story, monkeypatch, django_capture_on_commit_callbacks
):
    from cti.reports import pdf

    requested = _request(api, story.case["id"], django_capture_on_commit_callbacks)
    seen = []
    real_graph_svg = pdf.graph_svg

    def watching(*args, **kwargs):
        seen.append(api.get(f"/api/v3/cases/{story.case['id']}/reports/{requested['id']}"))
        return real_graph_svg(*args, **kwargs)

    monkeypatch.setattr(pdf, "graph_svg", watching)
    assert render_case_report(requested["id"]) == "done"
    status = seen[0].json()["data"]
    assert status["status"] == "running"
    assert 0 < status["progress"] < 100
