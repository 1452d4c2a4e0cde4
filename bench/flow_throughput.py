"""Throughput: letters through intake → routing → journal placement as governed flows on work
items vs. the same step functions in plain Python, at the same concurrency.

Both paths talk to the same kind of stand-ins over loopback (a fresh case system with a SQLite
file and a registry knowing one fictitious citizen per letter), so both do the same HTTP work:
each letter comes from a new citizen, gets a new case, is routed, placed in the journal and its
KLE number filed. Letters are taken in batches; per batch, each path runs the three robots one
after the other, each over the batch's letters or cases with ``--concurrency`` at once:

- governed: ``intake(limit=batch)``, ``routing(item_ids=…)``, ``journal_placement(item_ids=…)``
  (work items in a SQLite database, ledger, audit, policy routing; each item one Prefect task
  run unless ``--no-task-runs``), on a local Prefect API;
- plain: the undecorated step functions of the same robots, per letter or case, in a
  ``ThreadPoolExecutor`` with the same number of threads (act steps get an allowed Decision).

By default the robots' policies are used without their sign-off conditions, so every letter
runs every step in both paths (``--real-policies``: the shipped policies; then some items park
and the governed path does less work than the plain one — the item counts show how many).

    .venv/bin/python bench/flow_throughput.py --letters 300 --concurrency 4
    .venv/bin/python bench/flow_throughput.py --letters 1000 --concurrency 1 --no-task-runs
    .venv/bin/python bench/flow_throughput.py --letters 1000 --postgres \\
        postgresql+psycopg://postgres@127.0.0.1:55433/postgres

``--postgres URL`` measures scale-out instead: journal placement over one backlog of
``--letters`` queued letters, worked by 1 and then by 2 worker processes (each looping
``journal_placement(limit=batch)`` until nothing is left) sharing one PostgreSQL database (fresh
databases are created under URL and dropped afterwards) and one Prefect server; it checks that
every item was done exactly once (one ledger row per item and step, one journal note per case).

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import contextvars
import json
import mailbox
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
TOKEN = "bench-token"
TARGET_RATIO = 1.3
TARGET_SECONDS_FOR_10000 = 15 * 60
BENCH_FLOWS = ("intake", "routing", "journal_placement")
SIGNOFF_KEYS = ("signoff_when", "signoff_by", "deadline_hours", "on_overdue", "four_eyes")

BODIES = (  # (subject, text): one per department, new wording (not the training letters)
    ("Ansøgning om carport", "Jeg søger om byggetilladelse til en carport på 28 m² ved huset."),
    ("Nyt pas", "Mit pas er udløbet, og jeg skal bestille et nyt inden sommerferien."),
    ("Storskrald", "Storskraldet blev ikke hentet i sidste uge, selv om det stod ude."),
    ("Hjemmehjælp", "Jeg har brug for hjælp til rengøring efter min operation."),
    ("Vuggestueplads", "Vi søger vuggestueplads til vores søn fra januar."),
    ("Skoleskift", "Vores datter skal skifte skole efter jul, hvad skal vi gøre?"),
)


# -- the letters and the stand-ins ---------------------------------------------------------


def fictitious_cpr(n: int) -> str:
    """Unique CPR-shaped numbers with a 7th digit of 5-8 and year 58-99 (born 1858-1899)."""
    day, month, year = 1 + n % 28, 1 + (n // 28) % 12, 58 + (n // 336) % 42
    serial = 5000 + n // 14112
    return f"{day:02d}{month:02d}{year:02d}-{serial:04d}"


def letter_text(n: int) -> tuple[str, str]:
    subject, text = BODIES[n % len(BODIES)]
    return subject, f"{text}\nCPR: {fictitious_cpr(n)}\n\nVenlig hilsen\nBorger Nr {n}"


def sample_with_citizens(count: int):  # type: ignore[no-untyped-def]
    from standins.sample_data import Sample, SamplePerson, load_sample

    base = load_sample()
    people = [SamplePerson(cpr=fictitious_cpr(n), first_name="Borger", last_name=f"Nr {n}",
                           address=f"Testvej {n % 200 + 1}", postcode="8600", city="Silkeborg",
                           municipality_code="740") for n in range(count)]
    return Sample(about=base.about, persons=[*base.persons, *people],
                  properties=base.properties, cases=base.cases)


def fill_maildir(folder: Path, count: int) -> None:
    from standins.mail_drop import MAIL_DOMAIN, Letter, build_message

    box = mailbox.Maildir(str(folder), create=True)
    start = datetime.now(UTC) - timedelta(days=1)
    for n in range(count):
        subject, text = letter_text(n)
        box.add(build_message(Letter(
            sender=f"borger{n}@{MAIL_DOMAIN}", sender_name=f"Borger Nr {n}", subject=subject,
            text=text, message_id=f"<bench-{n}@{MAIL_DOMAIN}>",
            sent_at=start + timedelta(seconds=n))).as_bytes())


@contextmanager
def stand_ins(work: Path, count: int, name: str) -> Iterator[tuple[str, str]]:
    from standins import case_system, registry
    from standins.server import serving

    with (serving(case_system.create_app(str(work / f"{name}-cases.db"), TOKEN)) as cases,
          serving(registry.create_app(TOKEN, sample=sample_with_citizens(count))) as reg):
        yield cases.url, reg.url


def loopback_get_ms(cases_url: str) -> float:
    """The stand-in's answer time for one small GET on this machine, now (context: connector
    calls are a large part of both paths, and they slow down when the machine is busy)."""
    import httpx

    with httpx.Client(base_url=cases_url, headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        c.get("/cases/SAG-2026-0001")
        start = time.perf_counter()
        for _ in range(20):
            c.get("/cases/SAG-2026-0001")
    return round((time.perf_counter() - start) / 20 * 1000, 1)


def bench_policies(folder: Path, real: bool) -> Path:
    """The policy folder both paths are measured with: the shipped policies, or (default) the
    same without sign-off conditions, so every letter runs every step as in the plain path."""
    import yaml

    if real:
        return REPO / "policies"
    folder.mkdir(parents=True, exist_ok=True)
    for flow in BENCH_FLOWS:
        policy = yaml.safe_load((REPO / "policies" / f"{flow}.yaml").read_text(encoding="utf-8"))
        for step in policy["steps"].values():
            for key in SIGNOFF_KEYS:
                step.pop(key, None)
        (folder / f"{flow}.yaml").write_text(yaml.safe_dump(policy, allow_unicode=True),
                                             encoding="utf-8")
    return folder


class Backlog:
    """The bench's view of the case system between the robots: which cases are new since the
    last batch (one list call), and the journal letters for them (from the bench's own texts,
    found by the citizen's CPR number)."""

    def __init__(self, count: int) -> None:
        self.number_of = {fictitious_cpr(n): n for n in range(count)}
        self.seen: set[str] = set()

    def new_cases(self, client) -> list[str]:  # type: ignore[no-untyped-def]
        fresh = [c.id for c in client.list_cases(status="open")
                 if c.citizen_cpr in self.number_of and c.id not in self.seen]
        self.seen.update(fresh)
        return fresh

    def journal_letters(self, client, case_ids: list[str]):  # type: ignore[no-untyped-def]
        from flows.journal_placement import Letter

        wanted = set(case_ids)
        letters = []
        for case in client.list_cases(status="open"):
            if case.id in wanted:
                n = self.number_of[case.citizen_cpr]
                subject, body = letter_text(n)
                letters.append(Letter(message_id=f"<journal-{n}@bench.invalid>",
                                      case_id=case.id, department=case.department,
                                      subject=subject, body=body))
        return letters


# -- governed: the robots as flows on work items ------------------------------------------


def run_governed(work: Path, count: int, batch: int, model: Path) -> dict[str, Any]:
    from flows.intake import intake
    from flows.journal_placement import add_letters, journal_placement
    from flows.routing import add_cases, routing
    from flows.settings import connector_settings

    folder = work / "post-governed"
    fill_maildir(folder, count)
    states: dict[str, Counter[str]] = {flow: Counter() for flow in BENCH_FLOWS}
    runs = 0
    with stand_ins(work, count, "governed") as (cases_url, registry_url):
        os.environ.update({"CASEWORK_CASE_SYSTEM_URL": cases_url,
                           "CASEWORK_REGISTRY_URL": registry_url})
        latency = loopback_get_ms(cases_url)
        backlog = Backlog(count)
        with connector_settings().case_system() as client:
            start = time.perf_counter()
            while True:
                took = intake(mailbox_path=str(folder), limit=batch)
                if not took.rows:
                    break
                states["intake"].update(took.counts)
                new = backlog.new_cases(client)
                routed = routing(item_ids=add_cases(new).ids, model_dir=str(model),
                                 collect=False)
                states["routing"].update(routed.counts)
                placed = journal_placement(
                    item_ids=add_letters(backlog.journal_letters(client, new)).ids)
                states["journal_placement"].update(placed.counts)
                runs += 3
            seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 2), "letters_per_second": round(count / seconds, 2),
            "flow_runs": runs, "items": {f: dict(c) for f, c in states.items()},
            "loopback_get_ms": latency}


# -- plain: the same step functions, undecorated, in a thread pool ------------------------


def raw(step: Any) -> Callable[..., Any]:
    """The undecorated function behind a governed step (Prefect task → governed → function)."""
    fn = step.fn.__wrapped__
    assert not hasattr(fn, "fn") and fn.__name__ == step.__name__, fn
    return fn  # type: ignore[no-any-return]


def allowed(step: str, case: Any, value: Any) -> Any:
    """The Decision an act step needs, as the policy gives it to autonomous work."""
    from casework.runtime import Decision

    return Decision(status="completed", step=step, case_ref=case.ref, value_=value)


def in_pool(pool: ThreadPoolExecutor, fn: Callable[[Any], Any], items: Iterable[Any],
            errors: Counter[str]) -> None:
    """``fn`` for every item, several at once, each in a copy of this context (the connections);
    a failure is counted, as the governed path counts a failed item, and the rest go on."""
    futures = [pool.submit(contextvars.copy_context().run, fn, item) for item in items]
    for future in futures:
        try:
            future.result()
        except Exception as exc:  # noqa: BLE001 - counted and reported
            errors[type(exc).__name__] += 1


def run_plain(work: Path, count: int, batch: int, model: Path, concurrency: int,
              ) -> dict[str, Any]:
    """The same step functions, undecorated: no Prefect, no policy, no ledger, no items."""
    from casework.case import Case
    from casework.privacy import mask_cpr
    from connectors.mailbox import DropFolderMailbox
    from flows import intake as intake_flow
    from flows import journal_placement as jp
    from flows import routing as routing_flow
    from flows.case_system_settings import case_system_connection
    from flows.connections import Systems, using
    from flows.settings import connector_settings

    read, identify = raw(intake_flow.read_letter), raw(intake_flow.identify_citizen)
    open_case, gather = raw(intake_flow.open_case), raw(intake_flow.gather_registry_data)
    file_letter = raw(intake_flow.file_letter)
    suggest, place = raw(routing_flow.suggest_department), raw(routing_flow.place_case)
    jp_read, jp_suggest = raw(jp.read_letter), raw(jp.suggest_journal)
    jp_file = raw(jp.file_journal_number)

    folder = work / "post-plain"
    fill_maildir(folder, count)
    errors: Counter[str] = Counter()
    with stand_ins(work, count, "plain") as (cases_url, registry_url):
        os.environ.update({"CASEWORK_CASE_SYSTEM_URL": cases_url,
                           "CASEWORK_REGISTRY_URL": registry_url})
        latency = loopback_get_ms(cases_url)
        settings = connector_settings()
        box = DropFolderMailbox(folder)
        backlog = Backlog(count)
        connection = case_system_connection()
        assert connection is not None

        def take_in(letter: Any) -> None:
            probe = Case(id=f"letter:{letter.message_id}", summary=mask_cpr(letter.subject))
            reading = read(probe, letter)
            who = identify(probe, letter, reading)
            case_id = who.case_id or open_case(
                probe, letter, reading, allowed("identify_citizen", probe, who)).case_id
            case = Case(id=case_id, summary=reading.subject)
            gathered = gather(case, letter, reading, who)
            file_letter(case, letter, allowed("gather_registry_data", case, gathered))
            box.acknowledge(letter.message_id)

        def route(case_id: str) -> None:
            case = Case(id=case_id)
            read_case = routing_flow.routing_input(client, case_id)
            suggestion = suggest(case, read_case, str(model))
            place(case, allowed("suggest_department", case, suggestion))

        def journalise(letter: Any) -> None:
            case = Case(id=letter.case_id, department=letter.department)
            facts = jp_read(case, letter)
            suggestion = jp_suggest(case, facts)
            jp_file(case, connection, letter.subject,
                    allowed("suggest_journal", case, suggestion), suggestion.kle)

        filed = 0
        with (settings.case_system() as client, settings.registry() as reg,
              using(Systems(cases=client, registry=reg)),
              ThreadPoolExecutor(max_workers=concurrency) as pool):
            routing_flow.load_router(model)
            start = time.perf_counter()
            while letters := box.fetch_pending(batch):
                in_pool(pool, take_in, letters, errors)
                filed += len(letters)
                new = backlog.new_cases(client)
                in_pool(pool, route, new, errors)
                in_pool(pool, journalise, backlog.journal_letters(client, new), errors)
                if errors and filed >= count * 2:
                    break  # failing letters stay pending; don't loop on them for ever
            seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 2), "letters_per_second": round(count / seconds, 2),
            "letters_taken": filed, "errors": dict(errors), "loopback_get_ms": latency}


# -- PostgreSQL: 1 vs 2 worker processes on one backlog -------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Databases:
    """Fresh databases on the PostgreSQL server at ``admin_url``, dropped at the end."""

    def __init__(self, admin_url: str) -> None:
        from sqlalchemy import create_engine

        self.admin_url = admin_url
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.names: list[str] = []

    def create(self, purpose: str, driver: str) -> str:
        from sqlalchemy import text
        from sqlalchemy.engine import make_url

        name = f"bench_{purpose}_{uuid4().hex[:8]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.names.append(name)
        return make_url(self.admin_url).set(drivername=driver, database=name) \
            .render_as_string(hide_password=False)

    def drop_all(self) -> None:
        from sqlalchemy import text

        with self.admin.connect() as conn:
            for name in self.names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


def base_env(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CASEWORK_"))}
    env.update({k: v for k, v in os.environ.items() if k.startswith("CASEWORK_")})
    env.update({"PYTHONPATH": str(REPO), "PREFECT_HOME": str(work / "prefect-shared"),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_SERVER_UI_ENABLED": "false",
                "DO_NOT_TRACK": "1", "PREFECT_LOGGING_LEVEL": "ERROR",
                "PREFECT_CLIENT_MAX_RETRIES": "10"})
    return env


@contextmanager
def prefect_server(work: Path, database_url: str) -> Iterator[str]:
    """One Prefect server process (its database on the same PostgreSQL) for all workers."""
    import httpx

    port = free_port()
    env = base_env(work) | {"PREFECT_API_DATABASE_CONNECTION_URL": database_url}
    log = (work / "prefect-server.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host",
                             "127.0.0.1", "--port", str(port)], env=env, cwd=REPO, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    api = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Prefect server did not start; see {log.name}")
            time.sleep(0.5)
        yield api
    finally:
        try:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=30)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


def queue_backlog(count: int, cases_url: str) -> list[str]:
    """``count`` new cases in the case system and one queued journal letter for each."""
    from connectors.case_system import CaseSystemClient, NewCase
    from flows.journal_placement import Letter, add_letters

    letters = []
    with CaseSystemClient(cases_url, TOKEN) as client:
        for n in range(count):
            subject, body = letter_text(n)
            case = client.create_case(NewCase(title=f"Henvendelse: {subject}", case_type="inquiry",
                                              citizen_cpr=fictitious_cpr(n),
                                              citizen_name=f"Borger Nr {n}",
                                              department="borgerservice"))
            letters.append(Letter(message_id=f"<journal-{n}@bench.invalid>", case_id=case.id,
                                  department=case.department, subject=subject, body=body))
    return add_letters(letters).ids


def journal_notes(cases_url: str) -> int:
    import httpx

    return int(httpx.get(f"{cases_url}/admin/stats", timeout=10,
                         headers={"Authorization": f"Bearer {TOKEN}"}).json()["journal_notes"])


def exactly_once(database_url: str, count: int, cases_url: str, notes_before: int,
                 reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Every item done once: its states, ledger rows per (item, step), notes in the system."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as conn:
        states = dict(conn.execute(text(
            "SELECT state, count(*) FROM work_items GROUP BY state")).all())
        per_step = conn.execute(text(
            "SELECT step, count(*), count(DISTINCT work_item_id) FROM ledger_entries "
            "WHERE work_item_id IS NOT NULL GROUP BY step")).all()
        twice = conn.execute(text(
            "SELECT count(*) FROM (SELECT work_item_id, step FROM ledger_entries "
            "WHERE work_item_id IS NOT NULL GROUP BY work_item_id, step "
            "HAVING count(*) > 1) AS d")).scalar_one()
        steps_twice = conn.execute(text(
            "SELECT count(*) FROM (SELECT work_item_id, step FROM item_steps "
            "GROUP BY work_item_id, step HAVING count(*) > 1) AS d")).scalar_one()
    engine.dispose()
    notes = journal_notes(cases_url) - notes_before
    rows = {step: {"rows": n, "items": items} for step, n, items in per_step}
    reported = sum(r["items"].get("done", 0) for r in reports)
    ok = (states.get("done") == count and twice == 0 and steps_twice == 0 and notes == count
          and reported == count and all(v["rows"] == v["items"] == count for v in rows.values()))
    return {"items_by_state": states, "ledger_rows_per_step": rows,
            "item_steps_with_more_than_one_ledger_row": twice,
            "item_steps_recorded_twice": steps_twice, "new_journal_notes_in_case_system": notes,
            "items_done_as_reported_by_workers": reported,
            "every_item_done_exactly_once": ok}


def run_workers(n_workers: int, work: Path, env: dict[str, str], batch: int,
                ) -> tuple[float, list[dict[str, Any]]]:
    """Start the workers, let them warm up, then time them from one 'go' to the last done."""
    procs = []
    for i in range(n_workers):
        err = (work / f"worker-{n_workers}-{i}.log").open("ab")
        procs.append(subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--pg-worker", "--batch", str(batch)],
            env=env, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
            text=True, start_new_session=True))
        err.close()
    try:
        for proc in procs:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if line.strip() != "ready":
                raise RuntimeError(f"worker did not start (said {line!r}); see {work}")
        start = time.perf_counter()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        reports, finished = [], []
        for proc in procs:  # the figures line is printed before the interpreter's slow exit
            assert proc.stdout is not None
            line = proc.stdout.readline()
            finished.append(time.perf_counter())
            if not line.strip():
                raise RuntimeError(f"a worker ended without figures; see {work}")
            reports.append(json.loads(line))
        for proc in procs:
            proc.communicate(timeout=120)
        return max(finished) - start, reports
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def run_postgres(admin_url: str, work: Path, count: int, batch: int) -> dict[str, Any]:
    from casework.db import migrate
    from casework.db.session import engine_for
    from casework.settings import reset_settings_cache
    from standins import case_system
    from standins.server import serving

    databases = Databases(admin_url)
    out: dict[str, Any] = {}
    try:
        with prefect_server(work, databases.create("prefect", "postgresql+asyncpg")) as api:
            for n_workers in (1, 2):
                database_url = databases.create(f"casework_{n_workers}w", "postgresql+psycopg")
                os.environ["CASEWORK_DATABASE_URL"] = database_url
                reset_settings_cache()
                migrate.ensure_schema(engine_for(database_url))
                with serving(case_system.create_app(str(work / f"pg-{n_workers}-cases.db"),
                                                    TOKEN)) as cases:
                    queued = queue_backlog(count, cases.url)
                    notes_before = journal_notes(cases.url)
                    env = base_env(work) | {"PREFECT_API_URL": api,
                                            "CASEWORK_DATABASE_URL": database_url,
                                            "CASEWORK_CASE_SYSTEM_URL": cases.url}
                    seconds, reports = run_workers(n_workers, work, env, batch)
                    check = exactly_once(database_url, len(queued), cases.url, notes_before,
                                         reports)
                engine_for(database_url).dispose()
                out[f"{n_workers}_worker{'s' if n_workers > 1 else ''}"] = {
                    "seconds": round(seconds, 2),
                    "letters_per_second": round(count / seconds, 2),
                    "per_worker": reports, **check}
    finally:
        os.environ.pop("CASEWORK_DATABASE_URL", None)
        reset_settings_cache()
        databases.drop_all()
    one, two = out["1_worker"]["letters_per_second"], out["2_workers"]["letters_per_second"]
    out["speedup_2_vs_1"] = round(two / one, 2)
    return out


def pg_worker(batch: int) -> None:
    """One worker process of ``--postgres``: warm up, wait for 'go', then run journal
    placement over the shared queue until a run finds nothing left; print its figures."""
    from flows.journal_placement import _kle_suggester, journal_placement

    _kle_suggester()
    journal_placement(item_ids=[])  # warm up: Prefect client, policy, schema check
    print("ready", flush=True)
    sys.stdin.readline()
    start = time.perf_counter()
    runs, states = 0, Counter[str]()
    while True:
        report = journal_placement(limit=batch)
        runs += 1
        if not report.rows:
            break
        states.update(report.counts)
    print(json.dumps({"pid": os.getpid(), "flow_runs": runs, "items": dict(states),
                      "seconds": round(time.perf_counter() - start, 2)}), flush=True)


# -- main -----------------------------------------------------------------------------------


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--letters", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=250,
                        help="letters per flow run (intake's limit; journal placement's limit "
                             "per worker run with --postgres)")
    parser.add_argument("--concurrency", type=int, default=4,
                        help="items at once per flow run (CASEWORK_MAX_CONCURRENCY) and threads "
                             "of the plain path")
    parser.add_argument("--task-runs", action=argparse.BooleanOptionalAction, default=True,
                        help="each work item one Prefect task run (CASEWORK_ITEM_TASK_RUNS)")
    parser.add_argument("--real-policies", action="store_true",
                        help="the shipped policies, sign-off conditions included")
    parser.add_argument("--only", choices=("plain", "governed"))
    parser.add_argument("--postgres", metavar="URL",
                        help="1 vs 2 worker processes on one backlog in PostgreSQL at URL")
    parser.add_argument("--pg-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pg_worker:
        pg_worker(args.batch)
        return

    work = Path(tempfile.mkdtemp(prefix="casework-flow-bench-"))
    os.environ.update({
        "CASEWORK_DATA_DIR": str(work / "data"), "CASEWORK_PSEUDONYM_KEY": "bench",
        "CASEWORK_POLICY_DIR": str(bench_policies(work / "policies", args.real_policies)),
        "CASEWORK_CASE_SYSTEM_TOKEN": TOKEN, "CASEWORK_REGISTRY_TOKEN": TOKEN,
        "CASEWORK_MAX_CONCURRENCY": str(args.concurrency),
        "CASEWORK_ITEM_TASK_RUNS": "true" if args.task_runs else "false",
    })
    os.environ.setdefault("PREFECT_HOME", str(work / "prefect"))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
    os.environ.setdefault("PREFECT_CLIENT_MAX_RETRIES", "10")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    from casework.settings import reset_settings_cache

    reset_settings_cache()
    settings = {"letters": args.letters, "batch": args.batch,
                "concurrency": args.concurrency, "item_task_runs": args.task_runs,
                "policies": "shipped" if args.real_policies else "shipped, without sign-off"}
    load_before = load_average()

    if args.postgres:
        out: dict[str, Any] = {
            "benchmark": "journal placement over one PostgreSQL backlog, 1 vs 2 worker "
                         "processes sharing one Prefect server", **settings}
        out |= run_postgres(args.postgres, work, args.letters, args.batch)
        out["load_average_1_5_15"] = {"before": load_before, "after": load_average()}
        print(json.dumps(out, indent=2))
        return

    from flows.journal_placement import _kle_suggester
    from flows.routing import train_bundled_router

    model = work / "router"
    train_bundled_router(model)
    _kle_suggester()  # load the KLE labels once, outside both timings

    out = {"benchmark": "letters through intake -> routing -> journal placement", **settings,
           "stand_ins": "case system (SQLite file) and registry on loopback",
           "cpu_cores": os.cpu_count()}
    if args.only != "governed":
        out["plain_python"] = run_plain(work, args.letters, args.batch, model, args.concurrency)
    if args.only != "plain":
        from prefect.testing.utilities import prefect_test_harness

        with prefect_test_harness(server_startup_timeout=90):
            out["governed_flows"] = run_governed(work, args.letters, args.batch, model)
    if "plain_python" in out and "governed_flows" in out:
        plain = out["plain_python"]["letters_per_second"]
        governed = out["governed_flows"]["letters_per_second"]
        ratio = plain / governed
        out["ratio_governed_time_to_plain"] = round(ratio, 2)
        out["target_ratio"] = TARGET_RATIO
        out["ratio_met"] = ratio <= TARGET_RATIO
    if "governed_flows" in out:
        projected = 10_000 / out["governed_flows"]["letters_per_second"]
        out["projected_minutes_for_10000_governed"] = round(projected / 60, 1)
        out["target_minutes_for_10000"] = TARGET_SECONDS_FOR_10000 / 60
        out["projection_met"] = projected <= TARGET_SECONDS_FOR_10000
    if "plain_python" in out:
        out["projected_minutes_for_10000_plain"] = round(
            10_000 / out["plain_python"]["letters_per_second"] / 60, 1)
    out["load_average_1_5_15"] = {"before": load_before, "after": load_average()}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
