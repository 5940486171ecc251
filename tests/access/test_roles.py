"""Role rules that are not one endpoint's status code: bulk deletes by TQL, Django admin."""

import pytest

from cases.models import Case
from cti.intel.models import StixObject
from cti.security.choices import SystemRoleChoices
from cti.security.models import User
from cti.security.services import api_user_create
from tests.conftest import V3Client

pytestmark = pytest.mark.django_db


def test_read_only_user_cannot_bulk_delete_by_tql(make_case, readonly_credential, api):
    for i in range(3):
        make_case(name=f"keep {i}")
    api.post_json("/api/v3/intel/objects", {"type": "malware", "name": "M", "is_family": True})
    reader = V3Client(readonly_credential.token)
    for url in (
        '/api/v3/cases?tql=name startswith "keep"',
        "/api/v3/cases?tql=id > 0",
        "/api/v3/intel/objects?tql=id > 0",
        "/api/v3/tasks?tql=id > 0",
    ):
        response = reader.generic("DELETE", url)
        assert response.status_code == 403, url
        assert response.json()["status"] == "Error"
    assert Case.objects.count() == 3
    assert StixObject.objects.filter(name="M").exists()
    # the same request by an analyst deletes: the 403 above is the role, not the request
    response = api.generic("DELETE", '/api/v3/cases?tql=name startswith "keep"')
    assert response.status_code == 200 and Case.objects.count() == 0


@pytest.fixture
def playbook_staff():
    api_user_create("robot", role=SystemRoleChoices.PLAYBOOK, password="Robot-pass-123")
    user = User.objects.get(username="robot")
    user.is_staff = user.is_superuser = True  # even a misconfigured playbook account
    user.save()
    return user


def test_playbook_cannot_log_into_django_admin(client, playbook_staff):
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "robot", "password": "Robot-pass-123"}
    )
    assert response.status_code == 200  # the form again, with an error
    assert "_auth_user_id" not in client.session
    client.force_login(playbook_staff)  # a session obtained some other way
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert client.get("/admin/cases/case/").status_code == 302


def test_playbook_still_uses_the_api(playbook_staff):
    issued = api_user_create("robot", role=SystemRoleChoices.PLAYBOOK)
    assert V3Client(issued.token).get("/api/v3/cases").status_code == 200


@pytest.mark.parametrize("role", [SystemRoleChoices.ADMINISTRATOR, SystemRoleChoices.ANALYST])
def test_staff_of_other_roles_log_into_admin(client, role):
    api_user_create("person", role=role, password="Person-pass-123", superuser=True)
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "person", "password": "Person-pass-123"}
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
