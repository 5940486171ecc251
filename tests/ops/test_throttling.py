"""Rate limits per API user: configurable, off by default, 429 in the v3 envelope with
Retry-After."""

from pathlib import Path

import pytest
from django.core.cache import caches

from cti.security.choices import SystemRoleChoices
from cti.security.services import api_user_create
from tests.conftest import V3Client

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings):
    """Set the rates for one test; the counters start from zero and are dropped after."""
    caches[settings.CTI_THROTTLE_CACHE].clear()

    def set_rates(user: str | None = None, anon: str | None = None) -> None:
        settings.CTI_THROTTLE_RATES = {"user": user, "anon": anon}

    yield set_rates
    caches[settings.CTI_THROTTLE_CACHE].clear()


def test_the_request_over_the_user_rate_gets_429_in_the_envelope(api, rates):
    rates(user="3/minute")
    for _ in range(3):
        assert api.get("/api/v3/cases").status_code == 200
    response = api.get("/api/v3/cases")
    assert response.status_code == 429
    body = response.json()
    assert body["status"] == "Error"
    assert body["errCode"] == "0x1008"
    assert "throttled" in body["message"].lower()
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 60
    assert str(retry_after) in body["message"]


def test_the_limit_is_per_user(api, rates):
    rates(user="2/minute")
    other = V3Client(api_user_create("other-analyst", role=SystemRoleChoices.ANALYST).token)
    assert [api.get("/api/v3/cases").status_code for _ in range(3)] == [200, 200, 429]
    assert [other.get("/api/v3/cases").status_code for _ in range(2)] == [200, 200]
    assert other.get("/api/v3/cases").status_code == 429


def test_every_method_counts_against_the_same_budget(api, rates):
    rates(user="2/minute")
    body = {"name": "Throttled", "severity": "Low", "status": "Open"}
    assert api.post_json("/api/v3/cases", body).status_code == 201
    assert api.get("/api/v3/cases").status_code == 200
    refused = api.post_json("/api/v3/cases", body)
    assert refused.status_code == 429
    assert refused.json()["status"] == "Error"


def test_anonymous_calls_count_by_address_under_their_own_rate(anon_api, api, rates):
    rates(user=None, anon="2/minute")
    # unknown webhook slug: an anonymous endpoint, throttled before it looks the slug up
    codes = [anon_api.post_json("/api/v3/webhooks/nope", {}).status_code for _ in range(3)]
    assert 429 not in codes[:2] and codes[2] == 429
    assert anon_api.post_json("/api/v3/webhooks/nope", {})["Retry-After"]
    # authenticated users are not counted under the anonymous rate
    assert [api.get("/api/v3/cases").status_code for _ in range(3)] == [200, 200, 200]


def test_without_rates_nothing_is_limited(api, rates):
    rates(user=None, anon=None)
    assert {api.get("/api/v3/cases").status_code for _ in range(30)} == {200}


def test_ops_endpoints_are_never_throttled(client, rates):
    rates(user="1/minute", anon="1/minute")
    assert {client.get("/health").status_code for _ in range(5)} == {200}
    assert {client.get("/metrics").status_code for _ in range(3)} == {200}
