"""Child processes that work on the test database."""

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.db import connection

from tests.intel.stixdata import ROOT


def _postgres_url() -> str:
    s = connection.settings_dict
    user = quote(s.get("USER") or "")
    password = f":{quote(s['PASSWORD'])}" if s.get("PASSWORD") else ""
    host = s.get("HOST") or "localhost"
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgres://{user}{password}@{host}{port}/{s['NAME']}"


@contextmanager
def child_database(tmp_path: Path) -> Iterator[dict]:
    """The environment for child processes that use the test database. PostgreSQL's is shared
    as it is. SQLite's lives in this process's memory: it is copied to a file (WAL, as the
    server runs it) for the children and the file is copied back when the block ends. The
    caller must hold no open transaction (a module fixture under `django_db_blocker`, or a
    `transaction=True` test)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "cti.settings"}
    if connection.vendor != "sqlite":
        env["DATABASE_URL"] = _postgres_url()
        yield env
        return
    file = tmp_path / "child.sqlite3"
    connection.ensure_connection()
    target = sqlite3.connect(file)
    connection.connection.backup(target)
    target.close()
    env["DATABASE_URL"] = f"sqlite:///{file}"
    yield env
    source = sqlite3.connect(file)
    source.backup(connection.connection)
    source.close()
