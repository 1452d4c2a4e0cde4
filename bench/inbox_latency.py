"""Benchmark: sign-off inbox latency over HTTP with 100,000 open tasks.

    .venv/bin/python bench/inbox_latency.py                       # 100,000 open tasks, SQLite
    .venv/bin/python bench/inbox_latency.py --tasks 20000 --requests 100
    .venv/bin/python bench/inbox_latency.py --postgres postgresql+psycopg://u:pw@127.0.0.1/empty_db

Fills a fresh database (migrated by the project's migrations, demo users seeded) with open
tasks spread over the demo departments, three flows and their steps, deadlines from weeks
overdue to weeks ahead, plus decided tasks as history. Rows are built by the same functions the
step runtime uses (``ledger.step_values``, ``signoff.tasks.signoff_task_values``) and written
with bulk Core inserts, then ANALYZE. The real inbox app is served by uvicorn on loopback; a
client logs in with the development login and times each request end to end (client and
server share this process, as in the tests). Prints one JSON object: per operation p50, p95
and max in ms, fill seconds, database size. Target: p95 < 50 ms for the first queue page.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

TARGET_P95_MS = 50.0
BATCH = 5_000
USER = "lise.leder"  # caseworker and team lead of byggeri and teknik-miljo

# Share of tasks per department (borgerservice is the busiest desk in the demo municipality).
DEPARTMENT_WEIGHTS = {"borgerservice": 30, "byggeri": 20, "teknik-miljo": 15,
                      "sundhed-aeldre": 15, "born-unge": 12, "skole": 8}


@dataclass(frozen=True)
class StepTemplate:
    """One step that asks for sign-off, as its policy would say."""

    flow: str
    step: str
    weight: int
    baseline_minutes: float
    roles: tuple[str, ...]
    deadline_hours: float | None
    four_eyes: bool = False
    on_overdue: str = "remind"


STEPS = (
    StepTemplate("journal_placement", "suggest_journal", 55, 6.0, ("caseworker",), 72),
    StepTemplate("building_permit_intake", "check_documents", 20, 25.0, ("caseworker",), 120),
    StepTemplate("building_permit_intake", "neighbour_hearing_letter", 10, 20.0,
                 ("caseworker",), 240, on_overdue="reassign"),
    StepTemplate("housing_benefit", "draft_decision", 10, 35.0, ("team_lead", "manager"), 48,
                 four_eyes=True, on_overdue="manual"),
    StepTemplate("housing_benefit", "collect_income_data", 5, 18.0, ("caseworker",), None),
)
KLE = (("02.34.02", "Byggetilladelse"), ("02.00.05", "Andet"), ("32.24.02", "Boligstøtte"),
       ("17.27.00", "Skolemad"), ("07.20.00", "Affald"), ("23.05.01", "Flytning"))
WORDS = ("carport", "tilbygning", "boligstøtte", "indkomst", "naboorientering", "skur",
         "affald", "skolebus", "flytning", "tagterrasse", "hegn", "vinduer")
OUTCOMES = ("approved", "approved", "approved", "amended", "rejected")


def _suggestion(rng: random.Random, template: StepTemplate) -> dict[str, Any]:
    """A robot result of the kind the step returns (KLE suggestion or a prepared text)."""
    confidence = round(rng.uniform(0.2, 0.79), 2)
    if template.step == "suggest_journal":
        code, title = rng.choice(KLE)
        other = rng.choice([k for k in KLE if k[0] != code])
        return {"kle": code, "title": title, "confidence": confidence,
                "why": rng.sample(WORDS, 2),
                "alternatives": [{"code": other[0], "title": other[1],
                                  "score": round(confidence / 3, 2)}]}
    return {"text": f"Udkast: {' '.join(rng.sample(WORDS, 4))}.", "confidence": confidence,
            "evidence": rng.sample(WORDS, 3), "sources": [f"dok-{rng.randint(1, 9999)}.pdf"]}


def generate(n_open: int, n_decided: int, now: datetime, seed: int = 2026
             ) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(ledger row, task row) pairs: ``n_open`` awaiting, then ``n_decided`` decided ones."""
    from casework.inbox.seed import DEMO_USERS
    from casework.ledger import Mode, Outcome, StepRecord, saved_minutes, step_values
    from casework.signoff.tasks import signoff_task_values

    rng = random.Random(seed)
    departments, dep_weights = list(DEPARTMENT_WEIGHTS), list(DEPARTMENT_WEIGHTS.values())
    step_weights = [s.weight for s in STEPS]
    deciders = {d: [u[0] for u in DEMO_USERS if d in u[3]] for d in departments}
    policy_hashes = {s.flow: f"{rng.getrandbits(256):064x}" for s in STEPS}
    for i in range(n_open + n_decided):
        decided = i >= n_open
        template = rng.choices(STEPS, step_weights)[0]
        department = rng.choices(departments, dep_weights)[0]
        # Open tasks: created up to 1.4 deadlines ago, so about 30% are overdue and the rest
        # due within their deadline (no deadline: up to 14 days old). History: last 90 days.
        age_hours = 90 * 24 if decided else 1.4 * (template.deadline_hours or 240)
        created = now - timedelta(seconds=rng.uniform(60, age_hours * 3600))
        step_id, case_ref = str(uuid.UUID(int=rng.getrandbits(128), version=4)), \
            f"c_{rng.getrandbits(96):024x}"
        run_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        robot_seconds = round(rng.uniform(0.3, 9.0), 3)
        ledger = step_values(StepRecord(
            id=step_id, flow=template.flow, flow_run_id=run_id, step=template.step,
            step_kind="preparatory", case_ref=case_ref, policy_hash=policy_hashes[template.flow],
            mode=Mode.SIGNOFF, outcome=Outcome.AWAITING_SIGNOFF, robot_seconds=robot_seconds,
            baseline_minutes=template.baseline_minutes, department=department,
            reasons=["confidence < 0.55"], started_at=created - timedelta(seconds=robot_seconds),
            finished_at=created))
        ledger["decided_at"] = None
        task = signoff_task_values(
            ledger_entry_id=step_id, flow=template.flow, flow_run_id=run_id, step=template.step,
            case_ref=case_ref, department=department, roles=list(template.roles),
            departments=[], suggestion=_suggestion(rng, template), reasons=["confidence < 0.55"],
            case_summary=f"Henvendelse om {rng.choice(WORDS)} ({i})",
            deadline_hours=template.deadline_hours, policy_hash=policy_hashes[template.flow],
            four_eyes=template.four_eyes, on_overdue=template.on_overdue, now=created)
        for key in ("decided_at", "decided_by", "decision", "decision_value", "decision_reason",
                    "claimed_by", "claimed_at", "escalation", "escalated_at"):
            task.setdefault(key, None)
        if decided:
            outcome = rng.choice(OUTCOMES)
            at = created + timedelta(hours=rng.uniform(0.5, 70))
            seconds = round(rng.lognormvariate(4.5, 0.6), 1)
            task.update(status="decided", decision=outcome, decided_at=at, version=2,
                        decided_by=rng.choice(deciders[department]),
                        decision_reason=None if outcome == "approved" else "Ikke korrekt",
                        decision_value={"kle": "02.00.05"} if outcome == "amended" else None)
            ledger.update(outcome=outcome, human_seconds=seconds, decided_at=at,
                          saved_minutes=saved_minutes(outcome, template.baseline_minutes,
                                                      seconds))
        yield ledger, task


def fill(engine: Any, n_open: int, n_decided: int) -> dict[str, Any]:
    """Migrate, seed the demo users, bulk-insert the rows, ANALYZE; returns facts about it."""
    from sqlalchemy import func, insert, select, text

    from casework.db import migrate
    from casework.db.models import LedgerEntry, SignoffTask
    from casework.inbox.seed import seed_demo_users

    migrate.upgrade(engine)
    with engine.connect() as conn:
        if conn.scalar(select(func.count()).select_from(SignoffTask)):
            sys.exit("the database already holds sign-off tasks: give an empty database")
    seed_demo_users(engine)
    now = datetime.now(UTC)
    rows = generate(n_open, n_decided, now)
    started = time.perf_counter()
    while batch := [row for _, row in zip(range(BATCH), rows, strict=False)]:
        with engine.begin() as conn:
            conn.execute(insert(LedgerEntry), [ledger for ledger, _ in batch])
            conn.execute(insert(SignoffTask), [task for _, task in batch])
    insert_seconds = time.perf_counter() - started
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    with engine.connect() as conn:
        overdue = conn.scalar(select(func.count()).select_from(SignoffTask).where(
            SignoffTask.status == "awaiting", SignoffTask.deadline < now))
    return {"insert_seconds": round(insert_seconds, 2),
            "fill_seconds": round(time.perf_counter() - started, 2), "open_overdue": overdue}


def database_mb(engine: Any) -> float:
    from sqlalchemy import text

    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":  # the file and its write-ahead log
            db = Path(engine.url.database)
            wal = db.with_name(db.name + "-wal")
            size = db.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
        else:
            size = conn.scalar(text("SELECT pg_database_size(current_database())"))
    return round(size / 2**20, 1)


# --------------------------------------------------------------------------- measuring
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')


def _csrf(html: str) -> str:
    match = CSRF.search(html)
    if match is None:
        raise RuntimeError("no CSRF token on the page")
    return match.group(1)


def log_in(client: Any, user_id: str) -> str:
    """The development login over HTTP; returns the session's CSRF token."""
    page = client.get("/login")
    response = client.post("/login", data={"user_id": user_id, "csrf": _csrf(page.text)})
    if response.status_code != 303:
        raise RuntimeError(f"login as {user_id} failed: HTTP {response.status_code}")
    return _csrf(client.get("/queue").text)


def summary(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {"n": len(ms), "p50_ms": round(statistics.median(ordered), 2),
            "p95_ms": round(p95, 2), "max_ms": round(ordered[-1], 2)}


def timed(fn: Callable[[], Any], expect: int) -> tuple[float, Any]:
    """(milliseconds, response) of one request; a wrong status stops the run."""
    started = time.perf_counter()
    response = fn()
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != expect:
        raise RuntimeError(f"{response.request.method} {response.request.url}: HTTP "
                           f"{response.status_code}, expected {expect}")
    return elapsed, response


def open_task_ids(engine: Any, user_id: str, how_many: int) -> list[str]:
    """Awaiting tasks this user may decide alone (no four-eyes), spread over the queue."""
    from sqlalchemy import select

    from casework.db.models import SignoffTask
    from casework.db.session import reading
    from casework.inbox.identity import load_user, visible_to

    with reading(engine) as s:
        user = load_user(s, user_id)
        assert user is not None
        ids = list(s.scalars(select(SignoffTask.id).where(
            SignoffTask.status == "awaiting", SignoffTask.four_eyes.is_(False),
            visible_to(user)).order_by(SignoffTask.case_ref).limit(how_many)))
    if len(ids) < how_many:
        raise RuntimeError(f"only {len(ids)} open tasks for {user_id}; fill more tasks")
    return ids


def measure(engine: Any, requests: int, warmup: int) -> dict[str, Any]:
    import httpx

    from casework.inbox.app import create_app
    from casework.inbox.settings import InboxSettings
    from standins.server import serving

    settings = InboxSettings(dev_login=True, secret_key="bench-secret", cookie_secure=False)
    app = create_app(settings, engine=engine)
    queue_urls = {
        "queue_first_page": "/queue",
        "queue_sort_deadline": "/queue?sort=deadline",
        "queue_sort_created": "/queue?sort=created",
        "queue_department": "/queue?department=byggeri",
        "queue_overdue": "/queue?due=overdue",
        "queue_page_40": "/queue?sort=created&page=40",
    }
    task_ids = open_task_ids(engine, USER, warmup + requests)
    results: dict[str, list[float]] = {name: [] for name in (*queue_urls, "task_page",
                                                            "decide_approve")}
    with serving(app) as server, httpx.Client(base_url=server.url, timeout=30,
                                              follow_redirects=False) as client:
        csrf = log_in(client, USER)
        for round_no in range(warmup + requests):
            keep = round_no >= warmup
            for name, url in queue_urls.items():  # interleaved: drift hits every operation
                ms, _ = timed(lambda url=url: client.get(url), 200)
                if keep:
                    results[name].append(ms)
            task_id = task_ids[round_no]
            ms, page = timed(lambda task_id=task_id: client.get(f"/tasks/{task_id}"), 200)
            version = VERSION.search(page.text)
            if version is None:
                raise RuntimeError(f"task {task_id} offers no decision form")
            decide_ms, _ = timed(lambda task_id=task_id, version=version: client.post(
                f"/tasks/{task_id}/decide", data={"decision": "approved", "csrf": csrf,
                                                  "version": version.group(1), "reason": ""}),
                303)
            if keep:
                results["task_page"].append(ms)
                results["decide_approve"].append(decide_ms)
    return {name: summary(ms) for name, ms in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000, help="open tasks")
    parser.add_argument("--decided", type=int, default=20_000, help="decided tasks (history)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per operation")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--postgres", metavar="URL",
                        help="an empty PostgreSQL database instead of a temporary SQLite file")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="inbox_latency."))
    os.environ.setdefault("CASEWORK_DATA_DIR", str(workdir / "data"))
    os.environ.setdefault("CASEWORK_PSEUDONYM_KEY", "bench")
    if args.postgres:
        os.environ["CASEWORK_DATABASE_URL"] = args.postgres
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for standins/

    from casework.db.session import make_engine
    from casework.settings import get_settings

    engine = make_engine(get_settings().effective_database_url)
    filled = fill(engine, args.tasks, args.decided)
    operations = measure(engine, args.requests, args.warmup)
    first = operations["queue_first_page"]["p95_ms"]
    print(json.dumps({
        "benchmark": "sign-off inbox latency over HTTP",
        "database": engine.dialect.name,
        "open_tasks": args.tasks, "decided_tasks": args.decided, **filled,
        "database_mb": database_mb(engine),
        "user": USER, "requests_per_operation": args.requests, "warmup": args.warmup,
        "operations": operations,
        "target_queue_p95_ms": TARGET_P95_MS,
        "queue_first_page_meets_target": first < TARGET_P95_MS,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0], "cpus": os.cpu_count(),
    }, indent=2))


if __name__ == "__main__":
    main()
