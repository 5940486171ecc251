"""Case API benchmark: gunicorn on PostgreSQL driven by wrk, against the minimal view.

Needs a database filled by `generate.py` (it is read and written: create and PUT scenarios add
cases and tag links). Steps:

1. Issue a credential for the analyst `bench-analyst` (every case lists through the userAccess
   scope check, as for any non-administrator).
2. Pick each scenario's requests from the data (ids, popular and rare artifact values ...).
3. Record: send every request once in-process through the real API inside a transaction that is
   rolled back, capturing each SQL statement and the response (`views.py` replays them).
   The number of statements per request is the query count reported.
4. Start gunicorn (`bench.api.settings`: production URLs plus `/bench/minimal/...`).
5. For each scenario and concurrency level, run wrk (Lua script cycling through the scenario's
   requests) against the API and then against the minimal view, in the same run.

    .venv/bin/python bench/api/run.py --database postgres://postgres@127.0.0.1:5432/cti_scale_bench

Needs `wrk` (Debian: apt-get install -y wrk).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlencode

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BIN = Path(sys.executable).parent
BENCH_USER = "bench-analyst"
LIST_FIELDS = "tasks,artifacts,tags"
READS = ("list", "tql_has_artifact", "tql_like", "deep_sort", "deep_sort_keyset", "get_one")
WRITES = ("create", "put_tags")
SCENARIOS = READS + WRITES


def setup_django(database: str) -> None:
    os.environ["DATABASE_URL"] = database
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.api.settings"
    sys.path[:0] = [str(ROOT)]
    import django

    django.setup()


# ---- requests per scenario -------------------------------------------------------------------


def _get(path: str, **params: str) -> dict:
    return {"method": "GET", "path": f"{path}?{urlencode(params, quote_via=quote)}", "body": None}


def pick_requests(rng: random.Random, per: int) -> dict[str, list[dict]]:
    from django.db import connection

    from cases.models import Artifact, Case
    from cases.resources import CASES

    total = Case.objects.count()
    ids = list(Case.objects.order_by("pk").values_list("pk", flat=True)[:: max(1, total // 500)])
    with connection.cursor() as cursor:
        # popular values: most frequent among a sample; rare: seen once in the sample
        cursor.execute(
            "SELECT summary, count(*) FROM (SELECT summary FROM cases_artifact "
            "TABLESAMPLE SYSTEM (5) REPEATABLE (9)) s GROUP BY summary ORDER BY 2 DESC LIMIT 200"
        )
        counted = cursor.fetchall()
    popular = [s for s, _ in counted[: per // 2]]
    top = Artifact.objects.order_by("-pk").values_list("pk", flat=True).first() or 1
    sample = [rng.randint(1, top) for _ in range(per)]
    rare = list(
        Artifact.objects.filter(pk__in=sample).values_list("summary", flat=True)[
            : per - len(popular)
        ]
    )
    names = list(Case.objects.filter(pk__in=rng.sample(ids, per)).values_list("name", flat=True))
    reqs: dict[str, list[dict]] = {}
    reqs["list"] = [
        _get("/api/v3/cases", fields=LIST_FIELDS, resultLimit="100", resultStart=str(k * 100))
        for k in range(per)
    ]
    reqs["tql_has_artifact"] = [
        _get("/api/v3/cases", tql=f'hasArtifact(summary = "{v}")') for v in popular + rare
    ]
    likes = []
    for n, name in enumerate(names):
        word, rest = name.split(" at ", 1)
        if n % 3 == 0:  # selective: the place and number, % at both ends
            likes.append(f"%{rest}%")
        elif n % 3 == 1:  # broad prefix
            likes.append(f"{word.lower()}%")
        else:  # a % inside the pattern (regular expression)
            likes.append(f"%{word.split()[0].lower()}%{rest.split(' #')[0]}%")
    reqs["tql_like"] = [_get("/api/v3/cases", tql=f'name LIKE "{p}"') for p in likes]
    starts = [int(total * (0.1 + 0.8 * k / max(1, per - 1))) // 100 * 100 for k in range(per)]
    reqs["deep_sort"] = [
        _get("/api/v3/cases", sorting="dateAdded desc", resultLimit="100", resultStart=str(s))
        for s in starts
    ]
    reqs["deep_sort_keyset"] = keyset_requests(starts)
    every = ",".join(e.name for e in CASES.expansions)
    reqs["get_one"] = [_get(f"/api/v3/cases/{i}", fields=every) for i in rng.sample(ids, per)]
    reqs["create"] = [
        {"method": "POST", "path": "/api/v3/cases", "body": json.dumps(create_body(n))}
        for n in range(per)
    ]
    targets = rng.sample(ids, max(1, per // 3))
    reqs["put_tags"] = []
    for case_id in targets:
        for body in tag_bodies():
            path = f"/api/v3/cases/{case_id}?fields=tags"
            reqs["put_tags"].append({"method": "PUT", "path": path, "body": json.dumps(body)})
    return reqs


def keyset_requests(starts: list[int]) -> list[dict]:
    """The `next` links of the pages just before each start: what tcex follows verbatim."""
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"TC-Token {TOKEN}")
    out = []
    for start in starts:
        previous = max(0, start - 100)
        params = {"sorting": "dateAdded desc", "resultLimit": "100", "resultStart": previous}
        body = client.get("/api/v3/cases", params).json()
        link = body.get("next", "")
        out.append({"method": "GET", "path": "/api" + link if link.startswith("/v3") else link})
    for item in out:
        item["body"] = None
    return out


def create_body(n: int) -> dict:
    return {
        "name": f"Bench created case {n}",
        "severity": ("Low", "Medium", "High")[n % 3],
        "status": "Open",
        "description": "Created by the API benchmark",
        "tasks": {"data": [{"name": f"Task {k}", "workflowPhase": 1} for k in range(4)]},
        "artifacts": {
            "data": [{"summary": f"bench-{n}-{k}.example.com", "type": "Host"} for k in range(2)]
            + [{"summary": f"10.9.{n % 250}.{k}", "type": "IP Address"} for k in range(2)],
            "mode": "append",
        },
        "notes": {"data": [{"text": f"Note {k}"} for k in range(2)]},
    }


def tag_bodies() -> list[dict]:
    return [
        {"tags": {"data": [{"name": "bench-a"}, {"name": "bench-b"}], "mode": "append"}},
        {"tags": {"data": [{"name": "bench-b"}, {"name": "bench-c"}], "mode": "replace"}},
        {"tags": {"data": [{"name": "bench-c"}], "mode": "delete"}},
    ]


# ---- recording -------------------------------------------------------------------------------

TOKEN = ""
SAVEPOINT = re.compile(r"\s*(RELEASE\s+)?SAVEPOINT\b", re.IGNORECASE)


def record(reqs: dict[str, list[dict]]) -> dict:
    """Each request once through the API, rolled back; its SQL and response."""
    from django.db import connection, transaction
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"TC-Token {TOKEN}")
    out: dict[str, list[dict]] = {}
    for name, items in reqs.items():
        out[name] = []
        for item in items:
            statements: list[tuple] = []

            def capture(execute, sql, params, many, context, statements=statements):
                statements.append((sql, params))
                return execute(sql, params, many, context)

            with transaction.atomic(), connection.execute_wrapper(capture):
                method = getattr(client, item["method"].lower())
                kwargs = {"content_type": "application/json"} if item["body"] else {}
                response = method(item["path"], item["body"], **kwargs)
                transaction.set_rollback(True)
            if response.status_code >= 400:
                detail = f"{response.status_code} {response.content[:300]!r}"
                raise SystemExit(f"{name}: {item['path']} -> {detail}")
            # the API's own atomic() is a savepoint inside the recording transaction
            replay = [s for s in statements if not SAVEPOINT.match(s[0])]
            body = response.json()
            data = body.get("data")
            out[name].append(
                {
                    "method": item["method"],
                    "status": response.status_code,
                    "body": body,
                    "sql": replay,
                    "queries": len(replay),
                    "rows": len(data) if isinstance(data, list) else 1,
                }
            )
    return out


# ---- in-process service time ---------------------------------------------------------------


def inprocess(reqs: dict[str, list[dict]], recordings: Path, repeat: int) -> dict:
    """Median CPU time of this process (`process_time`: Python only, not the database server,
    hardly affected by other jobs on the machine) and wall time per request, API and minimal
    view alternately, in-process through the WSGI handler. Writes are rolled back."""
    import statistics

    from django.db import transaction
    from django.test import Client

    from bench.api.views import recordings as load_recordings

    os.environ["BENCH_API_RECORDINGS"] = str(recordings)
    load_recordings.cache_clear()
    load_recordings()
    client = Client(HTTP_AUTHORIZATION=f"TC-Token {TOKEN}")
    out: dict = {}
    for name, items in reqs.items():
        samples: dict[str, list[tuple[float, float]]] = {"api": [], "minimal": []}
        for _ in range(repeat):
            for n, item in enumerate(items):
                for target in ("api", "minimal"):
                    path = item["path"] if target == "api" else f"/bench/minimal/{name}/{n}"
                    kwargs = {"content_type": "application/json"} if item["body"] else {}
                    method = getattr(client, item["method"].lower())
                    cpu, wall = time.process_time(), time.perf_counter()
                    with transaction.atomic():
                        response = method(path, item["body"], **kwargs)
                        transaction.set_rollback(True)
                    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                    assert response.status_code < 400, (name, target, response.status_code)
                    samples[target].append((cpu, wall))
        row = {}
        for target, values in samples.items():
            row[target] = {
                "cpu_ms": round(statistics.median(v[0] for v in values) * 1000, 1),
                "wall_ms": round(statistics.median(v[1] for v in values) * 1000, 1),
            }
        row["cpu_ratio"] = round(row["api"]["cpu_ms"] / max(row["minimal"]["cpu_ms"], 0.1), 2)
        row["wall_ratio"] = round(row["api"]["wall_ms"] / max(row["minimal"]["wall_ms"], 0.1), 2)
        out[name] = row
        print(
            f"{name:18} in-process api cpu {row['api']['cpu_ms']:6.1f} ms wall "
            f"{row['api']['wall_ms']:6.1f} ms | minimal cpu {row['minimal']['cpu_ms']:6.1f} ms "
            f"wall {row['minimal']['wall_ms']:6.1f} ms | x{row['cpu_ratio']} cpu, "
            f"x{row['wall_ratio']} wall",
            flush=True,
        )
    return out


# ---- load ------------------------------------------------------------------------------------

LUA = """
local reqs = {
%(requests)s
}
local headers = {["Authorization"] = "TC-Token %(token)s", ["Content-Type"] = "application/json"}
local counter = 0
function setup(thread)
  thread:set("offset", math.random(1, #reqs))
end
function request()
  counter = counter + 1
  local r = reqs[(counter + (offset or 0)) %% #reqs + 1]
  return wrk.format(r[1], r[2], headers, r[3])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%%d,"duration_us":%%d,"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,' ..
    '"max_us":%%d,"mean_us":%%.0f,"status_errors":%%d,"socket_errors":%%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, e.status,
    e.connect + e.read + e.write + e.timeout))
end
"""


def lua_script(items: list[dict], scenario: str, minimal: bool) -> str:
    rows = []
    for n, item in enumerate(items):
        path = f"/bench/minimal/{scenario}/{n}" if minimal else item["path"]
        body = f"[==[{item['body']}]==]" if item["body"] else "nil"
        rows.append(f'  {{"{item["method"]}", [==[{path}]==], {body}}},')
    return LUA % {"requests": "\n".join(rows), "token": TOKEN}


def run_wrk(script: Path, url: str, connections: int, seconds: float) -> dict:
    threads = min(2, connections)
    cmd = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
        "--timeout", "30s", "-s", str(script), url,
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"wrk failed: {done.stdout} {done.stderr}")
    out = done.stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    data = json.loads(line[len("RESULT ") :])
    secs = data["duration_us"] / 1e6
    return {
        "rps": round(data["requests"] / secs, 1),
        "p50_ms": round(data["p50_us"] / 1000, 1),
        "p90_ms": round(data["p90_us"] / 1000, 1),
        "p99_ms": round(data["p99_us"] / 1000, 1),
        "max_ms": round(data["max_us"] / 1000, 1),
        "requests": data["requests"],
        "errors": data["status_errors"] + data["socket_errors"],
    }


def drain(url: str, timeout: float = 180) -> None:
    """Wait until the server answers /health promptly: requests wrk left queued (sync workers
    go on with them after wrk hangs up) must not be charged to the next measurement."""
    import urllib.request

    deadline, prompt = time.time() + timeout, 0
    while time.time() < deadline and prompt < 2:
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=timeout):
                pass
        except OSError:
            pass
        prompt = prompt + 1 if time.perf_counter() - started < 0.2 else 0
        time.sleep(0.2)


def start_gunicorn(
    database: str, port: int, workers: int, recordings: Path, log: Path, src: Path | None = None
):
    """The benchmark's gunicorn; with `src`, another source tree's plain cti.wsgi (the code
    before a change, measured against the same database in the same run)."""
    env = dict(
        os.environ,
        DATABASE_URL=database,
        DJANGO_SETTINGS_MODULE="cti.settings" if src else "bench.api.settings",
        BENCH_API_RECORDINGS=str(recordings),
        LOG_LEVEL="WARNING",
    )
    app = "cti.wsgi:application" if src else "bench.api.wsgi:application"
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), app, "--preload", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--timeout", "120", "--log-level", "warning",
         "--backlog", "2048"],
        cwd=src or ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"),
        start_new_session=True,
    )  # fmt: skip
    import urllib.request

    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    raise SystemExit(f"gunicorn did not start; see {log}")


def stop(proc) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def uptime() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def summarise_queries(recorded: dict) -> dict:
    out = {}
    for name, entries in recorded.items():
        counts = sorted({e["queries"] for e in entries})
        out[name] = {"queries": counts, "rows": sorted({e["rows"] for e in entries})}
    return out


def main() -> None:
    global TOKEN
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cti_scale_bench"
        ),
    )
    parser.add_argument("--port", type=int, default=8097)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--levels", default="1,8,32")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--per", type=int, default=12, help="distinct requests per scenario")
    parser.add_argument("--label", default="")
    parser.add_argument(
        "--inprocess", type=int, default=5, help="rounds of the in-process timing (0: none)"
    )
    parser.add_argument("--skip-load", action="store_true", help="no gunicorn and wrk")
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=600,
        help="CONN_MAX_AGE of the servers (persistent connections, as deployed); 0 opens a "
        "connection per request",
    )
    parser.add_argument(
        "--before-src",
        default="",
        help="a source tree (e.g. `git archive` of the previous commit) whose API is measured "
        "too, as `before`, against the same database",
    )
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    if not args.skip_load and not shutil.which("wrk"):
        raise SystemExit("wrk not found (Debian: apt-get install -y wrk)")
    setup_django(args.database)
    from cases.models import Artifact, Case, Note, Task
    from cti.security.choices import SystemRoleChoices
    from cti.security.services import api_user_create

    TOKEN = api_user_create(BENCH_USER, role=SystemRoleChoices.ANALYST).token
    # the PUT scenario's tags exist beforehand: concurrent first uses of a new tag name race
    # in tag_get_or_create (a unique violation, 500) and that is not what is measured here
    from cases.models import Tag
    from cti.security.services import default_owner

    for name in ("bench-a", "bench-b", "bench-c"):
        Tag.objects.get_or_create(owner=default_owner(), name=name)
    scenarios = [s for s in args.scenarios.split(",") if s]
    sizes = {
        "cases": Case.objects.count(),
        "tasks": Task.objects.count(),
        "artifacts": Artifact.objects.count(),
        "notes": Note.objects.count(),
    }
    print(f"dataset {sizes}", flush=True)
    reqs = pick_requests(random.Random(9), args.per)
    reqs = {k: v for k, v in reqs.items() if k in scenarios}
    recorded = record(reqs)
    var = Path(os.environ.get("CTI_VAR_DIR", ROOT / "var"))
    var.mkdir(parents=True, exist_ok=True)
    rec_file = var / "bench-api-recordings.pickle"
    rec_file.write_bytes(pickle.dumps(recorded))
    queries = summarise_queries(recorded)
    print(json.dumps(queries), flush=True)
    timed = inprocess(reqs, rec_file, args.inprocess) if args.inprocess else {}
    from django.db import connections

    connections.close_all()
    load_before = uptime()
    results: dict = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "label": args.label,
        "dataset": sizes,
        "gunicorn_workers": args.workers,
        "seconds": args.seconds,
        "loadavg_before": load_before,
        "queries": queries,
        "inprocess": timed,
        "conn_max_age": args.conn_max_age,
        "scenarios": {},
    }
    if args.skip_load:
        write_results(results, args.out, sizes)
        return
    served = args.database + ("&" if "?" in args.database else "?")
    served += f"conn_max_age={args.conn_max_age}"
    log = var / "bench-api-gunicorn.log"
    procs = [start_gunicorn(served, args.port, args.workers, rec_file, log)]
    urls = {"api": f"http://127.0.0.1:{args.port}", "minimal": f"http://127.0.0.1:{args.port}"}
    if args.before_src:
        before_log = var / "bench-api-gunicorn-before.log"
        src = Path(args.before_src).resolve()
        procs.append(start_gunicorn(served, args.port + 1, args.workers, rec_file, before_log, src))
        urls["before"] = f"http://127.0.0.1:{args.port + 1}"
        results["before_src"] = str(src)
    try:
        for name in scenarios:
            results["scenarios"][name] = {}
            for level in [int(x) for x in args.levels.split(",")]:
                row = {}
                for target, url in urls.items():
                    script = var / f"bench-api-{name}-{target}.lua"
                    script.write_text(lua_script(reqs[name], name, target == "minimal"))
                    for server in set(urls.values()):  # no server busy with a backlog
                        drain(server)
                    if args.warmup:
                        run_wrk(script, url, level, args.warmup)
                        drain(url)
                    row[target] = run_wrk(script, url, level, args.seconds)
                api_row, minimal_row = row["api"], row["minimal"]
                row["p99_ratio"] = round(api_row["p99_ms"] / max(minimal_row["p99_ms"], 0.1), 2)
                row["rps_ratio"] = round(minimal_row["rps"] / max(api_row["rps"], 0.1), 2)
                results["scenarios"][name][str(level)] = row
                a, m = row["api"], row["minimal"]
                print(
                    f"{name:18} c={level:<3} api {a['rps']:7.1f} rps p50 {a['p50_ms']:6.1f} "
                    f"p99 {a['p99_ms']:6.1f} err {a['errors']} | minimal {m['rps']:7.1f} rps "
                    f"p50 {m['p50_ms']:6.1f} p99 {m['p99_ms']:6.1f} | x{row['rps_ratio']}"
                    + (
                        f" | before {row['before']['rps']:7.1f} rps p50 "
                        f"{row['before']['p50_ms']:6.1f} p99 {row['before']['p99_ms']:6.1f}"
                        if "before" in row else ""
                    ),
                    flush=True,
                )  # fmt: skip
    finally:
        for proc in procs:
            stop(proc)
    write_results(results, args.out, sizes)


def write_results(results: dict, out_arg: str, sizes: dict) -> None:
    results["loadavg_after"] = uptime()
    out = Path(out_arg or HERE / "results" / f"results-{sizes['cases']}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
