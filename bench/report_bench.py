"""Benchmark: the time-saved report over a large SQLite ledger.

    .venv/bin/python bench/report_bench.py                 # 1,000,000 rows, fresh database
    .venv/bin/python bench/report_bench.py --rows 100000 --tracemalloc
    .venv/bin/python bench/report_bench.py --db /tmp/ledger.db --keep   # reuse between runs

The ledger is filled in a child process (plain ``sqlite3`` ``executemany`` in one transaction)
so that the parent's peak RSS measures the report alone. Prints one JSON object:
rows, seconds, peak memory (``ru_maxrss``; with ``--tracemalloc`` also the Python heap peak,
which slows the run down), file size. Targets: < 60 s and < 500 MB for a million rows.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

YEAR_START = datetime(2026, 1, 1)

# flow -> [(step, kind, baseline minutes, share of runs autonomous)]
FLOWS: dict[str, list[tuple[str, str, float, float]]] = {
    "housing_benefit": [
        ("classify_request", "preparatory", 6.0, 0.9),
        ("collect_income_data", "preparatory", 18.0, 0.8),
        ("check_completeness", "preparatory", 10.0, 0.6),
        ("draft_decision", "decision", 35.0, 0.0),
    ],
    "parking_permit": [
        ("classify_request", "preparatory", 4.0, 0.95),
        ("verify_address", "preparatory", 8.0, 0.85),
        ("draft_decision", "decision", 12.0, 0.0),
    ],
    "building_permit_intake": [
        ("classify_request", "preparatory", 8.0, 0.9),
        ("check_documents", "preparatory", 25.0, 0.5),
        ("neighbour_hearing_letter", "preparatory", 20.0, 0.3),
    ],
    "moving_notification": [
        ("validate_notification", "preparatory", 5.0, 0.95),
        ("update_registers", "preparatory", 7.0, 0.9),
    ],
    "free_school_meals": [
        ("collect_income_data", "preparatory", 15.0, 0.8),
        ("draft_decision", "decision", 20.0, 0.0),
    ],
    "waste_complaint": [
        ("classify_request", "preparatory", 5.0, 0.9),
        ("route_to_contractor", "preparatory", 9.0, 0.7),
    ],
}
DEPARTMENTS = {
    "housing_benefit": ["Borgerservice", "Ydelser"],
    "parking_permit": ["Teknik og Miljø", "Borgerservice"],
    "building_permit_intake": ["Byg og Plan"],
    "moving_notification": ["Borgerservice"],
    "free_school_meals": ["Børn og Unge", "Ydelser"],
    "waste_complaint": ["Teknik og Miljø", None],
}
KLE = {
    "housing_benefit": ["32.24.02", "32.24.04"],
    "parking_permit": ["05.13.12", "05.13.00"],
    "building_permit_intake": ["02.34.02", "02.34.00", "02.00.05"],
    "moving_notification": ["23.05.01", None],
    "free_school_meals": ["17.27.00"],
    "waste_complaint": ["07.20.00", None],
}
INSERT = (
    "INSERT INTO ledger_entries (id, flow, flow_run_id, step, step_kind, case_ref, policy_hash, "
    "mode, outcome, robot_seconds, human_seconds, baseline_minutes, saved_minutes, department, "
    "kle_subject, reasons, error, started_at, finished_at, decided_at) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


def _sqlite_time(t: datetime) -> str:
    """How SQLAlchemy stores a UTC DateTime on SQLite ("2026-01-01 08:00:00.000000")."""
    return t.isoformat(" ", "microseconds")


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def generate(n: int, seed: int = 2026):
    """``n`` realistic ledger rows in time order over 2026 (tuples for INSERT)."""
    rng = random.Random(seed)
    flows = list(FLOWS)
    weights = [30, 20, 8, 25, 10, 7]
    policies = {f: [f"{rng.getrandbits(256):064x}" for _ in range(2)] for f in flows}
    seconds_in_year = 365 * 24 * 3600
    made = 0
    case_no = 0
    while made < n:
        flow = rng.choices(flows, weights)[0]
        steps = FLOWS[flow]
        start = YEAR_START + timedelta(seconds=seconds_in_year * made / n)
        case_ref = f"c_{rng.getrandbits(96):024x}"
        run_id = _uuid(rng)
        dept = rng.choice(DEPARTMENTS[flow])
        kle = rng.choice(KLE[flow])
        late = start.month >= 7  # policy v2 from July: one baseline revised
        policy = policies[flow][late]
        case_no += 1
        for i, (step, kind, baseline, autonomous) in enumerate(steps):
            if made >= n:
                break
            if late and i == 1:
                baseline = baseline * 1.25
            started = start + timedelta(seconds=40 * i + rng.random() * 5)
            robot = rng.uniform(0.2, 12.0)
            r = rng.random()
            if r < 0.025:
                mode, outcome, human = "autonomous", "failed", 0.0
            elif r < 0.04:
                mode, outcome, human = "manual", "manual", rng.uniform(2, 3) * baseline * 60
            elif r < 0.04 + 0.96 * autonomous:
                mode, outcome, human = "autonomous", "completed", 0.0
            else:
                mode = "signoff"
                o = rng.random()
                human = rng.lognormvariate(0, 0.5) * baseline * 60 * rng.uniform(0.15, 0.5)
                if o < 0.03:
                    outcome, human = "awaiting_signoff", 0.0
                elif o < 0.70:
                    outcome = "approved"
                elif o < 0.85:
                    outcome = "amended"
                    human *= 1.6
                elif o < 0.95:
                    outcome = "rejected"
                else:
                    outcome = "escalated"
            used = outcome in ("completed", "approved", "amended")
            saved = (baseline if used else 0.0) - human / 60.0
            finished = started + timedelta(seconds=robot)
            decided = finished + timedelta(hours=rng.uniform(1, 30)) if human else None
            yield (
                _uuid(rng), flow, run_id, step, kind, case_ref, policy, mode, outcome,
                round(robot, 3), round(human, 1), baseline, round(saved, 4), dept, kle, "[]",
                None, _sqlite_time(started), _sqlite_time(finished),
                _sqlite_time(decided) if decided else None,
            )
            made += 1


def fill(db: Path, n: int) -> None:
    """Create the schema with the project's migrations, then bulk-insert ``n`` rows."""
    from casework.db import migrate
    from casework.db.session import make_engine

    engine = make_engine(f"sqlite:///{db}")
    migrate.upgrade(engine)
    engine.dispose()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    # Secondary indexes are dropped during the load and rebuilt after: far faster than
    # updating six b-trees per row.
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = "
        "'ledger_entries' AND sql IS NOT NULL"
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    rows = generate(n)
    while batch := [row for _, row in zip(range(50_000), rows, strict=False)]:
        conn.executemany(INSERT, batch)
    for _, sql in indexes:
        conn.execute(sql)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, help="SQLite file (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="reuse --db if it already has rows")
    parser.add_argument("--lang", default="da")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace the Python heap")
    parser.add_argument("--fill-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="report_bench."))
    db = args.db or workdir / "ledger.db"
    if args.fill_only:
        fill(db, args.rows)
        return

    fill_seconds = None
    if not (args.keep and db.exists()):
        db.unlink(missing_ok=True)
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, __file__, "--fill-only", "--rows", str(args.rows), "--db", str(db)],
            check=True,
        )
        fill_seconds = round(time.perf_counter() - t0, 2)

    from casework.db.session import make_engine
    from casework.report import ReportRequest, build_report

    engine = make_engine(f"sqlite:///{db}")
    request = ReportRequest(date_from="2026-01-01", date_to="2026-12-31", lang=args.lang)
    out = workdir / "report.xlsx"
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.tracemalloc:
        tracemalloc.start()
    t0 = time.perf_counter()
    summary = build_report(engine, request, out)
    seconds = time.perf_counter() - t0
    heap_peak = tracemalloc.get_traced_memory()[1] / 2**20 if args.tracemalloc else None
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    print(json.dumps({
        "rows": summary.step_runs,
        "cases": summary.cases,
        "hours_saved": round(summary.hours_saved, 1),
        "rows_sheets": summary.rows_sheets,
        "fill_seconds": fill_seconds,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(peak_rss, 1),
        "rss_before_report_mb": round(rss_before, 1),
        "tracemalloc_peak_mb": None if heap_peak is None else round(heap_peak, 1),
        "file_mb": round(out.stat().st_size / 2**20, 1),
        "database_mb": round(db.stat().st_size / 2**20, 1),
        "output": str(out),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
    }, indent=2))


if __name__ == "__main__":
    main()
