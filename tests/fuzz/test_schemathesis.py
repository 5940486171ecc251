"""Schemathesis against the committed openapi.yaml, in process through the WSGI app.

Every operation, with schema-valid and schema-invalid data (coverage phase plus fuzzing in
"all" generation mode), must answer without a 5xx, with a documented status code and a body
that matches the documented schema; the same operations without credentials must answer 401
in the error envelope. Seeded and derandomized, so a CI failure reproduces locally.

`CTI_FUZZ_SCHEMA=/path/openapi.yaml` points the run at another schema file (for instance one
freshly generated with `manage.py spectacular`); `CTI_FUZZ_EXAMPLES` changes the fuzzing budget.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.urls import Resolver404, resolve
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

SCHEMA_PATH = Path(os.environ.get("CTI_FUZZ_SCHEMA") or Path(__file__).parents[2] / "openapi.yaml")
EXAMPLES = int(os.environ.get("CTI_FUZZ_EXAMPLES", "10"))
SEED = 20240611


def _load(mode: str, max_examples: int, coverage: bool):
    config = SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "generation": {
                "mode": mode,
                "max-examples": max_examples,
                "deterministic": True,
                "database": "none",
            },
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": coverage},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": False},
            },
        }
    )
    loaded = schemathesis.openapi.from_path(SCHEMA_PATH, config=config)
    loaded.app = WSGIHandler()  # in process; also used by checks that send probe requests
    return loaded


schema = _load("all", EXAMPLES, coverage=True)
anonymous_schema = _load("positive", 2, coverage=False)

# Left out on purpose:
# - positive_data_acceptance: the schema cannot express what the server rightly rejects after
#   parsing (TQL grammar, sorting keywords, references to rows that do not exist, STIX
#   validity), so schema-valid requests are often, and correctly, answered 400/404;
# - negative_data_rejection: inputs are read as ThreatConnect and DRF read them (read-only and
#   unknown keys are ignored, 0 is a valid boolean, a number a valid name), so some
#   schema-invalid requests are rightly accepted;
# - ignored_auth: it probes every example again without credentials; test_anonymous checks
#   the 401 of every operation once, at a third of the cost.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Function-scoped fixtures (the administrator, the database) are shared by a test's examples:
# that is the point, the examples run against one growing database.
shared_fixtures = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(autouse=True)
def _keep_test_connection():
    """The WSGI handler closes the connection after each request; pytest-django's test
    transaction must survive (django.test.Client does the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@shared_fixtures
def test_administrator(case, admin_credential):
    case.call_and_validate(
        headers={"Authorization": f"TC-Token {admin_credential.token}"}, checks=CHECKS
    )


@anonymous_schema.parametrize()
@shared_fixtures
def test_anonymous(case, db):
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    response = case.call()
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
    path = case.operation.path
    try:
        resolve(urlsplit(case.formatted_path).path)
    except Resolver404:
        routed = False  # e.g. a negative id where the route takes digits: 404 before auth
    else:
        routed = True
    if path.startswith("/api/v3/webhooks/") or not routed:
        # Webhooks authenticate by the source's signature or secret; an unknown source is a 404.
        assert response.status_code in (401, 404), response.text
    else:
        assert response.status_code == 401, response.text
    body = response.json()
    if path.startswith("/taxii2/"):
        assert body["http_status"] == "401", body
    else:
        assert body["status"] == "Error" and body["errCode"], body
