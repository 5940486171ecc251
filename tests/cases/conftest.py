"""Fixtures for case-workflow tests: a controllable clock, templates and small API helpers."""

from unittest import mock

import pytest

from cti.security.models import UserGroup
from tests.cases.helpers import T0, Clock


@pytest.fixture
def clock():
    fake = Clock(T0)
    with mock.patch("django.utils.timezone.now", fake):
        yield fake


@pytest.fixture
def soc_group(db):
    return UserGroup.objects.create(name="SOC Team", description="Tier 1")


@pytest.fixture
def make_template(api):
    """Create a workflow template through the API and return its JSON."""

    def make(name="Phishing Response", config_task=None, **fields):
        body = {"name": name, "configTask": config_task or [], **fields}
        response = api.post_json("/api/v3/workflowTemplates", body)
        assert response.status_code == 201, response.json()
        return response.json()["data"]

    return make


@pytest.fixture
def get_case(api):
    def get(case_id, *fields):
        query = "&".join(f"fields={f}" for f in fields)
        response = api.get(f"/api/v3/cases/{case_id}" + (f"?{query}" if query else ""))
        assert response.status_code == 200, response.json()
        return response.json()["data"]

    return get


@pytest.fixture
def case_tasks(api):
    """The case's tasks keyed by name."""

    def tasks(case_id):
        response = api.get("/api/v3/tasks", {"tql": f"caseId = {case_id}", "fields": "caseId"})
        assert response.status_code == 200, response.json()
        return {t["name"]: t for t in response.json()["data"]}

    return tasks


@pytest.fixture
def event_summaries(api):
    """Summaries of the case's (non-deleted) timeline events, oldest first."""

    def summaries(case_id, system_only=True):
        tql = f"caseId = {case_id} and deleted = false"
        if system_only:
            tql += " and systemGenerated = true"
        response = api.get("/api/v3/workflowEvents", {"tql": tql, "resultLimit": 1000})
        assert response.status_code == 200, response.json()
        return [e["summary"] for e in response.json()["data"]]

    return summaries


@pytest.fixture
def close_task(api):
    def close(task_id):
        response = api.put_json(f"/api/v3/tasks/{task_id}", {"status": "Closed"})
        assert response.status_code == 200, response.json()
        return response.json()["data"]

    return close
