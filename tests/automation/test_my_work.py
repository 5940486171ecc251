""" "My work": the cases and tasks an automation assigned to the calling user, found with the
existing TQL keywords of /v3/cases and /v3/tasks (`assignee = me`, `targetId = me`)."""

import pytest

from tests.automation.conftest import dispatch

pytestmark = pytest.mark.django_db

WHEN = "2024-03-01T10:00:00Z"


def names(client, path: str, tql: str) -> set[str]:
    response = client.get(path, {"tql": tql})
    assert response.status_code == 200, response.json()
    return {row["name"] for row in response.json()["data"]}


@pytest.fixture
def assigned(story, incident, make_automation, soc):
    """One case assigned to the colleague (with the colleague's task) and one to their group."""
    make_automation(case_name="mine: {incident.name}")
    make_automation(
        case_name="group: {incident.name}",
        assignee_user_id=None,
        assignee_group_id=soc.pk,
        tasks=[{"name": "Group task", "assignee": {"type": "Group", "data": {"id": soc.pk}}}],
    )
    incident("i1", WHEN)
    dispatch()


@pytest.mark.parametrize("tql", ["assignee = me", "targetId = me", "assigneeName = me"])
def test_my_cases_and_tasks(assigned, colleague_api, api, tql):
    mine = "mine: Sighting on valid indicator bad.com (i1)"
    assert names(colleague_api, "/api/v3/cases", tql) == {mine}
    assert names(colleague_api, "/api/v3/tasks", tql) == {"Verify interaction"}
    assert names(api, "/api/v3/cases", tql) == set()  # another analyst has none
    assert names(api, "/api/v3/tasks", tql) == set()


def test_my_open_work_combines_with_status(assigned, colleague_api):
    tql = 'assignee = me and status = "Open"'
    assert names(colleague_api, "/api/v3/tasks", tql) == {"Verify interaction"}


def test_group_work_is_found_by_the_group_name_not_by_me(assigned, colleague_api, soc):
    """A group assignment is reachable by the group's name; `me` means the user only (no
    keyword means "assigned to a group I am a member of")."""
    group_case = "group: Sighting on valid indicator bad.com (i1)"
    by_name = f'assigneeName = "{soc.name}"'
    assert names(colleague_api, "/api/v3/cases", by_name) == {group_case}
    assert names(colleague_api, "/api/v3/tasks", by_name) == {"Group task"}
    assert group_case not in names(colleague_api, "/api/v3/cases", "assignee = me")
    assert names(colleague_api, "/api/v3/cases", f"targetId = {soc.pk}") >= {group_case}


def test_assigned_to_me_includes_my_groups(assigned, colleague_api, api):
    """`assignedToMe = true`: my own work and my groups' work (the colleague is in SOC)."""
    mine = "mine: Sighting on valid indicator bad.com (i1)"
    group_case = "group: Sighting on valid indicator bad.com (i1)"
    assert names(colleague_api, "/api/v3/cases", "assignedToMe = true") == {mine, group_case}
    assert names(colleague_api, "/api/v3/tasks", "assignedToMe = true") == {
        "Verify interaction",
        "Group task",
    }
    assert names(colleague_api, "/api/v3/cases", "assignedToMe = false") == set()
    assert names(api, "/api/v3/cases", "assignedToMe = true") == set()
    assert names(api, "/api/v3/cases", "assignedToMe = false") == {mine, group_case}
