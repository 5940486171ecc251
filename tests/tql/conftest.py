from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def tql_test_schemas() -> None:
    """Register the test schemas (idempotent: re-registering replaces)."""
    from tests.tql import schemas

    schemas.register()
