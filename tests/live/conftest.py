"""Fixtures for tests that drive a live server through tcex, unchanged.

The server is pytest-django's `live_server` (a threaded WSGI server on plain http); tcex talks
to it with its own `TcSession` and `HmacAuth` / `TokenAuth`, exactly as an app would.
"""

import importlib
import logging
from collections.abc import Callable

import pytest
from django.apps import apps as django_apps
from tcex.api.tc.v3.v3 import V3
from tcex.input.field_type.sensitive import Sensitive
from tcex.requests_tc.auth.hmac_auth import HmacAuth
from tcex.requests_tc.auth.token_auth import TokenAuth
from tcex.requests_tc.tc_session import TcSession

from cti.security.choices import SystemRoleChoices
from cti.security.services import IssuedCredential, api_user_create

AUTH_KINDS = ("hmac", "token")


@pytest.fixture
def standard_types(transactional_db) -> None:
    """Artifact and attribute types come from a data migration; a transactional test database is
    flushed between tests, so seed them again (the seed is idempotent)."""
    seed = importlib.import_module("cases.migrations.0003_seed_standard_types").seed
    seed(django_apps, None)


@pytest.fixture
def tc_credential(standard_types) -> IssuedCredential:
    return api_user_create(
        "tcex-admin@example.com", role=SystemRoleChoices.ADMINISTRATOR, superuser=True
    )


def make_session(base_url: str, credential: IssuedCredential, kind: str) -> TcSession:
    """A tcex session as an app builds it: HMAC (access id + Sensitive secret) or a token."""
    if kind == "hmac":
        auth = HmacAuth(credential.access_id, Sensitive(credential.secret_key))
    elif kind == "token":
        # TokenAuth takes a str, a Sensitive, or a callable returning one (for renewal).
        auth = TokenAuth(lambda: Sensitive(credential.token))
    else:
        raise ValueError(kind)
    return TcSession(auth=auth, base_url=base_url)


@pytest.fixture
def tc_api_path(live_server) -> str:
    """tcex's `tc_api_path`: the server's base URL including /api."""
    return f"{live_server.url}/api"


@pytest.fixture
def make_v3(tc_api_path, tc_credential) -> Callable[[str], V3]:
    def make(kind: str) -> V3:
        return V3(make_session(tc_api_path, tc_credential, kind))

    return make


@pytest.fixture(autouse=True)
def relative_paging_links(settings) -> None:
    """tcex prepends its base URL to any `next` not starting with https; over plain http the
    server must therefore link relative to the API base ("auto", the default)."""
    settings.CTI_PAGING_LINKS = "auto"


@pytest.fixture(autouse=True)
def quiet_tcex_info(caplog) -> None:
    """tcex logs every request and response at INFO through a logger whose findCaller walks
    inspect.stack() (tens of milliseconds per record under pytest); keep warnings and errors."""
    caplog.set_level(logging.WARNING, logger="tcex")
