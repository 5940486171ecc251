"""Private services for the fault tests: a PostgreSQL cluster and a Redis server of the test's
own, on free ports, so that restarting or stopping them touches nothing another job uses."""

import contextlib
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

import tests.rules_manager.conftest as rules_manager
from tests.rules_manager.conftest import Processes, free_port, wait_for

# the rule-manager suite's fixtures: subprocesses stopped at teardown, PostgreSQL only
processes = rules_manager.processes
postgres_only = rules_manager.postgres_only
redis_broker = rules_manager.redis_broker
__all__ = ["free_port", "postgres_only", "processes", "redis_broker"]

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _as_postgres(command: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["su", "postgres", "-c", command],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster in a folder of its own, listening on 127.0.0.1:port."""

    data: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/cti"

    def _ctl(self, action: str, *extra: str, timeout: float = 120) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        _as_postgres(
            f"{PG_BIN}/pg_ctl -D {self.data} -l {self.data}/server.log -w "
            f"-o '{options}' {' '.join(extra)} {action}",
            timeout=timeout,
        )

    def start(self) -> None:
        self._ctl("start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("stop", "-m", mode)

    def restart(self, mode: str = "fast") -> None:
        self._ctl("restart", "-m", mode)

    def log(self) -> str:
        path = self.data / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def query(self, sql: str) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url.replace("postgres://", "postgresql://")) as connection:
            return connection.execute(sql).fetchall()


@pytest.fixture(scope="module")
def private_postgres(tmp_path_factory) -> Iterator[PrivatePostgres]:
    """initdb as the postgres user in a new folder (under /tmp, which that user can reach;
    pytest's own tmp folders are root's only), started on a free port, the `cti` database
    created and migrated; stopped and removed at the end."""
    if not (PG_BIN / "initdb").exists() or not shutil.which("su"):
        pytest.skip(f"PostgreSQL 15's server binaries are not in {PG_BIN}")
    folder = Path(tempfile.mkdtemp(prefix="cti-fault-pg-"))
    shutil.chown(folder, "postgres")
    cluster = PrivatePostgres(folder / "data", free_port())
    try:
        _as_postgres(f"{PG_BIN}/initdb -D {cluster.data} -A trust -U postgres --no-sync -E UTF8")
    except (subprocess.CalledProcessError, OSError) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"cannot run initdb as the postgres user: {exc}")
    cluster.start()
    try:
        import psycopg

        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres", autocommit=True
        ) as connection:
            connection.execute("CREATE DATABASE cti")
        commands = Processes(tmp_path_factory.mktemp("migrate"))
        manage(commands, commands.env(DATABASE_URL=cluster.url), "migrate", "--noinput", "-v0")
        yield cluster
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


class PrivateRedis:
    """A redis-server on a free port that keeps nothing on disk, as the project's Redis is run:
    messages queued when it stops are gone."""

    def __init__(self, processes: Processes, folder: Path) -> None:
        self.processes = processes
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        import redis

        self.process = self.processes.start(
            [
                shutil.which("redis-server") or "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.folder),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            self.processes.env(),
            "redis",
        )
        client = redis.Redis(port=self.port)

        def up() -> bool:
            assert self.process.poll() is None, self.processes.log(self.process)
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        wait_for(up, 20, "the private redis-server")

    def stop(self) -> None:
        """SIGTERM: redis-server shuts down (nothing to save) and closes every connection."""
        self.process.terminate()
        self.process.wait(timeout=20)


@pytest.fixture
def private_redis(processes, tmp_path) -> Iterator[PrivateRedis]:
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    server = PrivateRedis(processes, tmp_path)
    server.start()
    yield server


def manage(processes: Processes, env: dict, *args: str, timeout: float = 600) -> str:
    """Run a manage.py command to its end; its output."""
    process = processes.start([sys.executable, "manage.py", *args], env, "manage")
    assert process.wait(timeout=timeout) == 0, processes.log(process)
    return processes.log(process)


def issued_token(output: str) -> str:
    return next(
        line.split(":", 1)[1].strip() for line in output.splitlines() if line.startswith("token:")
    )


def wait_http(url: str, process: subprocess.Popen, processes: Processes) -> None:
    def up() -> bool:
        assert process.poll() is None, processes.log(process)
        try:
            return requests.get(url, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    wait_for(up, 60, f"{url} to answer", interval=0.2)


def monotonic_ms() -> float:
    return time.monotonic() * 1000
