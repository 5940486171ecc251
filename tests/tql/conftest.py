from __future__ import annotations

import pytest

from tests.tql import schemas


@pytest.fixture(autouse=True)
def tql_test_schemas() -> None:
    """Register the test schemas (idempotent: re-registering replaces)."""
    schemas.register()
