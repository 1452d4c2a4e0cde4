"""The same schema, ledger and audit chain on PostgreSQL (runs when a URL is configured;
`.ci/run` starts a throwaway server on loopback and sets CASEWORK_TEST_POSTGRES_URL)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url

from casework import audit, ledger
from casework.db import migrate
from casework.db.models import LedgerEntry
from casework.db.session import make_engine, reading, transaction
from casework.ledger import Mode, Outcome, StepRecord

URL = os.environ.get("CASEWORK_TEST_POSTGRES_URL")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not URL, reason="set CASEWORK_TEST_POSTGRES_URL to run PostgreSQL tests"),
]


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    name = f"casework_test_{uuid4().hex[:10]}"
    admin = create_engine(URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(URL).set(database=name).render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def test_migrations_ledger_and_audit_on_postgres(pg_engine: Engine) -> None:
    migrate.upgrade(pg_engine)
    assert migrate.is_up_to_date(pg_engine)
    record = StepRecord(
        id=str(uuid4()), flow="f", flow_run_id="r", step="s", step_kind="preparatory",
        case_ref="c_" + "0" * 24, policy_hash="h" * 64, mode=Mode.SIGNOFF,
        outcome=Outcome.AWAITING_SIGNOFF, robot_seconds=0.1, baseline_minutes=5,
        started_at=datetime.now(UTC),
    )
    with transaction(pg_engine) as session:
        ledger.record_step(session, record)
        audit.append(session, actor="robot:f", action="step.awaiting_signoff")
    with transaction(pg_engine) as session:
        ledger.record_decision(session, record.id, Outcome.AMENDED, human_seconds=60)
    with reading(pg_engine) as session:
        row = session.get(LedgerEntry, record.id)
        assert (row.outcome, row.saved_minutes) == ("amended", 4.0)
        assert row.started_at.tzinfo is not None


def test_concurrent_audit_appends_keep_one_chain(pg_engine: Engine) -> None:
    migrate.upgrade(pg_engine)

    def writer(n: int) -> None:
        for i in range(25):
            with transaction(pg_engine) as session:
                audit.append(session, actor=f"user:{n}", action="decision", details={"i": i})

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with reading(pg_engine) as session:
        report = audit.verify_chain(session)
        seqs = list(session.scalars(select(audit.AuditEvent.seq).order_by(audit.AuditEvent.seq)))
    assert report.ok and report.events == 100 and seqs == list(range(1, 101))


def test_work_items_are_added_once_and_claimed_once_by_concurrent_workers(
        pg_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Eight workers claim from one queue at once (FOR UPDATE SKIP LOCKED): every item is
    taken by exactly one of them; adding the same keys again adds nothing."""
    from casework.db import session as db_session
    from casework.items import queue
    from casework.items.queue import NewItem

    migrate.upgrade(pg_engine)
    monkeypatch.setattr(db_session, "get_engine", lambda: pg_engine)
    items = [NewItem(key=f"message:{n}", payload={"n": n}) for n in range(200)]
    first = queue.add("pg_flow", items)
    assert len(first.new) == 200
    assert queue.add("pg_flow", items[:50] + [NewItem(key="message:new", payload={})]).new != []
    taken: dict[str, list[str]] = {}
    lock = threading.Lock()

    def worker(n: int) -> None:
        while batch := queue.claim("pg_flow", f"w{n}", limit=7, lease_seconds=60):
            with lock:
                for claimed in batch:
                    taken.setdefault(claimed.id, []).append(f"w{n}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(taken) == 201 and all(len(holders) == 1 for holders in taken.values())
    assert len({h[0] for h in taken.values()}) > 1  # the work was shared
