"""Generate a large case-management dataset straight into the cases tables with COPY.

Default scale (issue #9): 100k cases, ~500k tasks, ~1M artifacts, ~1M notes, one workflow event
per case. Rows are generated and copied in chunks of `--chunk` cases with their children, so
memory stays flat whatever the scale (only the tag and user id lists are kept).

Distributions (seeded, reproducible):
  * cases: dateAdded spread over three years in id order; status Closed for most old cases and
    Open for most recent ones; severity Low 40% / Medium 35% / High 20% / Critical 5%; type,
    priority and resolution from the choices; assignee a user (Zipf over 50 analysts) 80%, a
    group 5%, none 15%; 0-4 tags from a Zipf over 300 tags; 0.5% of cases with a userAccess
    list; names from incident-like words with a sequence number.
  * tasks: Poisson(5) per case (at most 15), Open/Closed/Pending by the case's status.
  * artifacts: geometric with mean 10 per case (at most 200, so a few cases are very large);
    types weighted like a SOC's (hosts, IPs, URLs, hashes, emails ...); values from per-type
    pools with a Zipf skew, so a popular value recurs in many cases and most are rare.
  * notes: mean 10 per case; 65% on the case, 20% on a task, 15% on an artifact.

    .venv/bin/python bench/api/generate.py --cases 100000 --reset \\
        --database postgres://postgres@127.0.0.1:5432/cti_scale_bench
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
import uuid
from bisect import bisect_left
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2023, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=3 * 365)
USERS = 50
GROUPS = 5
TAGS = 300
BENCH_USER = "bench-analyst"

SEVERITIES = (("Low", 40), ("Medium", 35), ("High", 20), ("Critical", 5))
CASE_TYPES = (("Incident Response", 70), ("Request for Information", 20), ("", 10))
PRIORITIES = (("P1", 5), ("P2", 20), ("P3", 45), ("P4", 20), ("", 10))
RESOLUTIONS = (
    ("Containment Achieved", 30),
    ("False Positive", 30),
    ("Restoration Achieved", 15),
    ("Escalated", 5),
    ("Rejected", 5),
    ("Not Specified", 15),
)
WORDS = (
    "Phishing", "Ransomware", "Credential theft", "Malware beacon", "Data exfiltration",
    "Brute force", "Suspicious login", "C2 traffic", "Insider threat", "DDoS", "Web shell",
    "Privilege escalation", "Lateral movement", "Typosquat domain", "Spearphishing",
)  # fmt: skip
PLACES = ("HQ", "EMEA", "APAC", "finance", "HR", "R&D", "VPN", "mail gateway", "DMZ", "AD")
TASK_NAMES = (
    "Triage", "Collect evidence", "Contain host", "Reset credentials", "Block indicators",
    "Notify stakeholders", "Check mail logs", "Verify user interaction", "Eradicate", "Review",
)  # fmt: skip
# (artifact type name, weight, value pool size per 1M artifacts)
ARTIFACT_TYPES = (
    ("Host", 20, 120_000),
    ("IP Address", 20, 150_000),
    ("URL", 15, 200_000),
    ("File Hash", 15, 250_000),
    ("Email Address", 10, 80_000),
    ("Email Subject", 5, 60_000),
    ("User Name", 5, 20_000),
    ("User Agent", 3, 5_000),
    ("Registry Key", 3, 20_000),
    ("Mutex", 2, 10_000),
    ("Hashtag", 2, 2_000),
)


def setup_django() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cti.settings")
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    import django

    django.setup()


class Weighted:
    """Draw from fixed weights in O(log n)."""

    def __init__(self, items: list | tuple, weights: list[float]) -> None:
        self.items = list(items)
        self.cum = list(accumulate(weights))

    def draw(self, rng: random.Random):
        return self.items[bisect_left(self.cum, rng.random() * self.cum[-1])]


def zipf(items: list, s: float = 1.1) -> Weighted:
    return Weighted(items, [1 / (rank + 1) ** s for rank in range(len(items))])


def choices(pairs: tuple) -> Weighted:
    return Weighted([p[0] for p in pairs], [p[1] for p in pairs])


def poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def geometric(rng: random.Random, mean: float) -> int:
    """0, 1, 2 ... with the given mean (a long tail: a few cases get very many)."""
    p = 1 / (mean + 1)
    return int(math.log(1 - rng.random()) / math.log(1 - p))


def artifact_value(type_name: str, n: int) -> str:
    if type_name == "Host":
        return f"host{n}.{('corp', 'example', 'evil', 'cdn')[n % 4]}.com"
    if type_name == "IP Address":
        return f"{10 + n % 200}.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
    if type_name == "URL":
        return f"https://site{n % 9973}.example.net/path/{n}"
    if type_name == "File Hash":
        return uuid.uuid5(uuid.NAMESPACE_OID, str(n)).hex * 2
    if type_name == "Email Address":
        return f"user{n}@mail{n % 97}.example.org"
    if type_name == "Email Subject":
        return f"Invoice {n} overdue"
    if type_name == "User Name":
        return f"jdoe{n}"
    if type_name == "User Agent":
        return f"Mozilla/5.0 (bot {n})"
    if type_name == "Registry Key":
        return f"HKLM\\Software\\Run\\k{n}"
    if type_name == "Mutex":
        return f"Global\\mtx{n}"
    return f"#campaign{n}"


def reset() -> None:
    """Empty the case tables (this must be a dedicated database)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE cases_note, cases_artifact, cases_task, cases_workflowevent, "
            "cases_case_tags, cases_case_user_access, cases_case_associated_cases, "
            "cases_caseattribute, cases_caseopinion, cases_case RESTART IDENTITY CASCADE"
        )


def ensure_people(rng: random.Random) -> dict:
    """Analysts, groups, tags and the API user the benchmark authenticates as."""
    from cases.models import ArtifactType, Tag
    from cti.security.choices import SystemRoleChoices
    from cti.security.models import User, UserGroup
    from cti.security.services import api_user_create, default_owner

    owner = default_owner()
    users = []
    for n in range(USERS):
        user, _ = User.objects.get_or_create(
            username=f"analyst{n:02d}", defaults={"owner": owner, "system_role": "Analyst"}
        )
        users.append(user.pk)
    groups = []
    for n in range(GROUPS):
        group, _ = UserGroup.objects.get_or_create(name=f"SOC tier {n + 1}")
        groups.append(group.pk)
    tags = []
    for n in range(TAGS):
        name = f"{rng.choice(('apt', 'crime', 'fin', 'phish', 'ops'))}-{n:03d}"
        tag, _ = Tag.objects.get_or_create(
            owner=owner, name=name, defaults={"technique_id": f"T{1000 + n}" if n < 60 else None}
        )
        tags.append(tag.pk)
    types = dict(ArtifactType.objects.values_list("name", "pk"))
    api_user_create(BENCH_USER, role=SystemRoleChoices.ANALYST)
    return {
        "owner": owner.pk,
        "users": users,
        "groups": groups,
        "tags": tags,
        "types": types,
        "bench_user": User.objects.get(username=BENCH_USER).pk,
    }


class Generator:
    def __init__(self, people: dict, cases: int, seed: int) -> None:
        self.p = people
        self.total = cases
        self.rng = random.Random(seed)
        self.severity = choices(SEVERITIES)
        self.case_type = choices(CASE_TYPES)
        self.priority = choices(PRIORITIES)
        self.resolution = choices(RESOLUTIONS)
        self.assignee = zipf(people["users"], 0.8)
        self.tag = zipf(people["tags"], 1.0)
        self.atype = choices(tuple((name, w) for name, w, _ in ARTIFACT_TYPES))
        scale = max(cases * 10, 10_000) / 1_000_000
        self.pools = {
            name: zipf(list(range(max(50, int(size * scale)))), 0.9)
            for name, _, size in ARTIFACT_TYPES
        }
        self.case_id = self.task_id = self.artifact_id = self.note_id = self.event_id = 0
        self.counts = dict.fromkeys(("cases", "tasks", "artifacts", "notes", "tags", "events"), 0)

    def chunk(self, n: int) -> dict[str, list[tuple]]:
        rng, p = self.rng, self.p
        rows: dict[str, list[tuple]] = {
            k: [] for k in ("case", "tags", "access", "task", "artifact", "note", "event")
        }
        for _ in range(n):
            self.case_id += 1
            cid = self.case_id
            frac = cid / self.total
            added = T0 + SPAN * frac + timedelta(seconds=rng.randint(0, 3600))
            closed = rng.random() < (0.95 if frac < 0.9 else 0.4)
            close_time = added + timedelta(hours=rng.randint(1, 24 * 30)) if closed else None
            occurred = added - timedelta(hours=rng.randint(1, 72))
            detected = occurred + timedelta(minutes=rng.randint(5, 600))
            roll = rng.random()
            user = self.assignee.draw(rng) if roll < 0.8 else None
            group = rng.choice(p["groups"]) if 0.8 <= roll < 0.85 else None
            creator = rng.choice(p["users"])
            rows["case"].append(
                (
                    cid, str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    f"{rng.choice(WORDS)} at {rng.choice(PLACES)} #{cid}",
                    "Generated case for the API benchmark.",
                    "Closed" if closed else "Open", self.severity.draw(rng),
                    self.resolution.draw(rng) if closed else "Not Specified",
                    self.case_type.draw(rng), self.priority.draw(rng),
                    added, close_time, occurred, detected,
                    occurred + timedelta(hours=4), int((detected - occurred).total_seconds()),
                    int((close_time - added).total_seconds()) if close_time else None,
                    added + timedelta(days=7), added, close_time or added,
                    user, group, creator if closed else None, creator, creator, creator, creator,
                    p["owner"], "[]",
                )
            )  # fmt: skip
            for tag in {self.tag.draw(rng) for _ in range(min(4, poisson(rng, 1.5)))}:
                rows["tags"].append((cid, tag))
            if rng.random() < 0.005:
                rows["access"].append((cid, creator))
            self.event_id += 1
            rows["event"].append((self.event_id, cid, "Case created", added, added, True, creator))
            task_ids = []
            for step in range(min(15, poisson(rng, 5))):
                self.task_id += 1
                task_ids.append(self.task_id)
                done = closed or rng.random() < 0.4
                status = "Closed" if done else rng.choice(("Open", "Pending"))
                rows["task"].append(
                    (
                        self.task_id, str(uuid.UUID(int=rng.getrandbits(128), version=4)), cid,
                        rng.choice(TASK_NAMES), "", status, step % 3 == 0,
                        added + timedelta(days=2), close_time if status == "Closed" else None,
                        1 + step // 4, 1 + step % 4, "[]", False, added, added,
                        self.assignee.draw(rng) if rng.random() < 0.7 else None,
                    )
                )  # fmt: skip
            artifact_ids = []
            for _ in range(min(200, geometric(rng, 10))):
                self.artifact_id += 1
                artifact_ids.append(self.artifact_id)
                tname = self.atype.draw(rng)
                value = artifact_value(tname, self.pools[tname].draw(rng))
                task = rng.choice(task_ids) if task_ids and rng.random() < 0.3 else None
                rows["artifact"].append(
                    (
                        self.artifact_id, cid, task, p["types"][tname], value,
                        rng.choice(("SIEM", "EDR", "analyst", "mail gateway")),
                        tname in ("Host", "IP Address", "URL", "File Hash", "Email Address"),
                        added, added,
                    )
                )  # fmt: skip
            for _ in range(poisson(rng, 10)):
                self.note_id += 1
                roll = rng.random()
                task = rng.choice(task_ids) if task_ids and roll < 0.2 else None
                artifact = rng.choice(artifact_ids) if artifact_ids and roll > 0.85 else None
                rows["note"].append(
                    (
                        self.note_id, cid, task, artifact,
                        f"Analyst note {self.note_id}: checked {rng.choice(PLACES)} logs, "
                        f"{rng.choice(('nothing found', 'confirmed', 'escalated', 'benign'))}.",
                        rng.choice(p["users"]), added, added,
                    )
                )  # fmt: skip
        return rows


COLUMNS = {
    "case": (
        "cases_case",
        "id, xid, name, description, status, severity, resolution, case_type, priority, "
        "case_open_time, case_close_time, case_occurrence_time, case_detection_time, "
        "detection_due, time_to_detect, time_to_respond, response_due, date_added, last_updated, "
        "assignee_user_id, assignee_group_id, case_close_user_id, case_open_user_id, "
        "case_occurrence_user_id, case_detection_user_id, created_by_id, owner_id, type_values",
    ),
    "tags": ("cases_case_tags", "case_id, tag_id"),
    "access": ("cases_case_user_access", "case_id, user_id"),
    "event": (
        "cases_workflowevent",
        "id, case_id, summary, event_date, date_added, system_generated, user_id",
    ),
    "task": (
        "cases_task",
        "id, xid, case_id, name, description, status, required, due_date, completed_date, "
        "workflow_phase, workflow_step, config_task, automated, date_added, last_updated, "
        "assignee_user_id",
    ),
    "artifact": (
        "cases_artifact",
        "id, case_id, task_id, artifact_type_id, summary, source, derived_link, date_added, "
        "last_updated",
    ),
    "note": (
        "cases_note",
        "id, case_id, task_id, artifact_id, text, author_id, date_added, last_modified",
    ),
}
# the workflow event and note tables have NOT NULL columns the generator leaves at a default
DEFAULTS = {
    "event": ", link, link_text, deleted, deleted_reason",
    "note": ", edited",
}


def copy_rows(cursor, kind: str, rows: list[tuple]) -> None:
    if not rows:
        return
    table, columns = COLUMNS[kind]
    extra = DEFAULTS.get(kind, "")
    with cursor.copy(f"COPY {table} ({columns}{extra}) FROM STDIN") as copy:
        if kind == "event":
            for row in rows:
                copy.write_row((*row, "", "", False, ""))
        elif kind == "note":
            for row in rows:
                copy.write_row((*row, False))
        else:
            for row in rows:
                copy.write_row(row)


def reset_sequences(cursor) -> None:
    for table in (
        "cases_case", "cases_task", "cases_artifact", "cases_note", "cases_workflowevent",
        "cases_case_tags", "cases_case_user_access",
    ):  # fmt: skip
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        )


def populate(cases: int, chunk: int = 2000, seed: int = 9, progress: bool = False) -> dict:
    """Add `cases` cases with their children to the (empty) case tables of the default
    database, chunk by chunk; the counts of rows written by kind."""
    from django.db import connection

    rng = random.Random(seed)
    people = ensure_people(rng)
    gen = Generator(people, cases, seed)
    connection.ensure_connection()
    raw = connection.connection  # psycopg 3 connection (autocommit as Django left it)
    started = time.perf_counter()
    done = 0
    while done < cases:
        n = min(chunk, cases - done)
        rows = gen.chunk(n)
        with raw.transaction(), raw.cursor() as cursor:
            for kind in ("case", "tags", "access", "event", "task", "artifact", "note"):
                copy_rows(cursor, kind, rows[kind])
        for key, kind in (
            ("cases", "case"), ("tasks", "task"), ("artifacts", "artifact"), ("notes", "note"),
            ("tags", "tags"), ("events", "event"),
        ):  # fmt: skip
            gen.counts[key] += len(rows[kind])
        done += n
        if progress and (done % (chunk * 10) == 0 or done == cases):
            rate = done / (time.perf_counter() - started)
            print(f"  {done} cases ({rate:.0f}/s) {gen.counts}", flush=True)
    with raw.cursor() as cursor:
        reset_sequences(cursor)
    return gen.counts


def create_database(database: str) -> None:
    import psycopg

    base, name = database.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def generate(
    database: str, cases: int, chunk: int, seed: int, reset_first: bool, reuse: bool = False
) -> dict | None:
    os.environ["DATABASE_URL"] = database
    create_database(database)
    setup_django()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    if reset_first:
        reset()
    elif connection.cursor().execute("SELECT EXISTS (SELECT 1 FROM cases_case)").fetchone()[0]:
        if reuse:
            print("cases_case is not empty: reusing the data set as it is")
            return None
        raise SystemExit("cases_case is not empty: pass --reset (a dedicated database only)")
    started = time.perf_counter()
    counts = populate(cases, chunk, seed, progress=True)
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    with connection.connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return {
        "database": database.rsplit("/", 1)[-1],
        "seed": seed,
        "counts": counts,
        "load_seconds": round(load_seconds, 1),
        "vacuum_analyze_seconds": round(time.perf_counter() - started, 1),
        "bench_user": BENCH_USER,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cti_scale_bench"
        ),
    )
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--reset", action="store_true", help="empty the case tables first")
    parser.add_argument(
        "--reuse", action="store_true", help="do nothing if the database already has cases"
    )
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "dataset.json"))
    args = parser.parse_args()
    if not args.database.startswith("postgres"):
        raise SystemExit("the generator writes with COPY: PostgreSQL only")
    result = generate(args.database, args.cases, args.chunk, args.seed, args.reset, args.reuse)
    if result is None:
        return
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
