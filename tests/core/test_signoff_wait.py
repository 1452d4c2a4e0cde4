"""A flow waits at a sign-off step; the stored decision is delivered through the outbox and
the flow resumes with it. Real Prefect API, real SQLite."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL
from prefect.settings.context import temporary_settings
from pydantic import BaseModel
from sqlalchemy import select

from casework import ledger
from casework.case import Case
from casework.db.models import DecisionOutbox, LedgerEntry, SignoffTask
from casework.db.session import reading, transaction
from casework.ledger import Outcome
from casework.runtime import CaseworkFlow, require_signoff
from casework.signoff.outbox import deliver_pending

pytestmark = pytest.mark.usefixtures("prefect_api", "db_engine")


class Suggestion(BaseModel):
    kle: str
    title: str
    confidence: float


def make_flow(tmp_path: Path):
    name = f"w_{uuid4().hex[:8]}"
    policy = tmp_path / f"{name}.yaml"
    policy.write_text(f"flow: {name}\nsteps:\n  suggest:\n    kind: preparatory\n"
                      "    mode: signoff\n    manual_minutes: 6\n    deadline_hours: 1\n")
    robot = CaseworkFlow(name, policy_file=policy)

    @robot.step(kind="preparatory")
    def suggest(case: Case) -> Suggestion:
        return Suggestion(kle="02.34.24", title="Byggearbejder uden tilladelse", confidence=0.4)

    @robot.flow()
    def run(case_id: str) -> dict:
        decision = require_signoff(suggest(Case(id=case_id, department="byggeri")),
                                   wait="pause")
        return {"status": decision.status.value,
                "kle": decision.value.kle if decision.proceed else None}

    return run


def decide_like_the_inbox(task_id: str, decision: str, value: dict | None,
                          human_seconds: float) -> None:
    """What the inbox stores in one transaction: the decision, the ledger's human time and the
    outbox row."""
    with transaction() as session:
        task = session.get(SignoffTask, task_id)
        task.status, task.decision, task.decision_value = "decided", decision, value
        task.decided_by, task.decided_at = "anne", datetime.now(UTC)
        ledger.record_decision(session, task.ledger_entry_id, Outcome(decision), human_seconds)
        session.add(DecisionOutbox(
            id=str(uuid4()), signoff_task_id=task_id, flow_run_id=task.flow_run_id,
            run_input={"decision": decision, "value": value, "reason": "wrong subject",
                       "decided_by": "anne", "human_seconds": human_seconds},
            created_at=datetime.now(UTC)))


def wait_for_paused_task(timeout: float = 60) -> SignoffTask:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with reading() as session:
            task = session.scalars(select(SignoffTask)).first()
        if task is not None:
            with get_client(sync_client=True) as client:
                state = client.read_flow_run(task.flow_run_id).state
            if state and state.is_paused():
                return task
        time.sleep(0.2)
    raise AssertionError("the flow never paused at the sign-off step")


def test_paused_flow_resumes_with_the_amended_value(tmp_path: Path) -> None:
    run = make_flow(tmp_path)
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(run("SAG-77")), daemon=True)
    thread.start()
    task = wait_for_paused_task()
    assert task.status == "awaiting" and task.payload["suggestion"]["kle"] == "02.34.24"

    decide_like_the_inbox(task.id, "amended", {"kle": "02.34.30"}, human_seconds=84)
    report = deliver_pending()
    assert report.delivered == 1
    thread.join(timeout=60)
    assert result == {"status": "amended", "kle": "02.34.30"}

    with reading() as session:
        entry = session.get(LedgerEntry, task.ledger_entry_id)
        outbox = session.scalars(select(DecisionOutbox)).one()
    assert (entry.outcome, entry.human_seconds, entry.saved_minutes) == ("amended", 84, 4.6)
    assert outbox.status == "delivered" and outbox.attempts == 1


def test_decision_waits_in_the_outbox_while_prefect_is_unreachable(tmp_path: Path) -> None:
    run = make_flow(tmp_path)
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(run("SAG-78")), daemon=True)
    thread.start()
    task = wait_for_paused_task()
    decide_like_the_inbox(task.id, "approved", None, human_seconds=20)

    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}):  # nothing listens
        report = deliver_pending()
    assert (report.delivered, report.pending) == (0, 1)
    with reading() as session:
        row = session.scalars(select(DecisionOutbox)).one()
    assert row.status == "pending" and row.attempts == 1 and "Connect" in row.last_error

    assert deliver_pending().delivered == 1  # Prefect is back: delivered, not asked again
    thread.join(timeout=60)
    assert result == {"status": "approved", "kle": "02.34.24"}


def test_a_decision_made_before_the_flow_waits_is_used_without_waiting(tmp_path: Path) -> None:
    """Re-runs (after suspend, or a retry) find the stored decision and never wait twice."""
    from casework.ledger import Mode, StepRecord
    from casework.runtime import StepOutcome

    with transaction() as session:
        ledger.record_step(session, StepRecord(
            id="l-1", flow="f", flow_run_id=str(uuid4()), step="suggest",
            step_kind="preparatory", case_ref="c_" + "1" * 24, policy_hash="h",
            mode=Mode.SIGNOFF, outcome=Outcome.AWAITING_SIGNOFF, robot_seconds=0.1,
            baseline_minutes=6, started_at=datetime.now(UTC)))
        session.add(SignoffTask(id="l-1", ledger_entry_id="l-1", flow="f", flow_run_id="r",
                                step="suggest", case_ref="c_" + "1" * 24, payload={},
                                created_at=datetime.now(UTC)))
    decide_like_the_inbox("l-1", "rejected", None, human_seconds=30)
    outcome = StepOutcome(flow="f", step="suggest", case_ref="c_" + "1" * 24,
                          mode=Mode.SIGNOFF, result=Suggestion(kle="1", title="t", confidence=0),
                          ledger_id="l-1", signoff_task_id="l-1")
    decision = require_signoff(outcome, wait="pause")  # outside a flow: would fail if it waited
    assert decision.status is Outcome.REJECTED and not decision.proceed
    with reading() as session:
        assert session.scalars(select(DecisionOutbox)).one().status == "delivered"


def test_decision_for_a_run_that_went_on_without_waiting_is_not_waiting(tmp_path: Path) -> None:
    """CASEWORK_SIGNOFF_WAIT=record: the run completed; the decision stays recorded."""
    name = f"r_{uuid4().hex[:8]}"
    policy = tmp_path / f"{name}.yaml"
    policy.write_text(f"flow: {name}\nsteps:\n  suggest:\n    kind: preparatory\n"
                      "    mode: signoff\n    manual_minutes: 6\n")
    robot = CaseworkFlow(name, policy_file=policy)

    @robot.step(kind="preparatory")
    def suggest(case: Case) -> Suggestion:
        return Suggestion(kle="02.34.24", title="t", confidence=0.4)

    @robot.flow()
    def run() -> str:
        return require_signoff(suggest(Case(id="SAG-90")), wait="record").status.value

    assert run() == "awaiting_signoff"
    with reading() as session:
        task = session.scalars(select(SignoffTask)).one()
    decide_like_the_inbox(task.id, "approved", None, human_seconds=15)
    report = deliver_pending()
    assert (report.delivered, report.not_waiting, report.failed) == (0, 1, 0)
    with reading() as session:
        assert session.scalars(select(DecisionOutbox)).one().status == "not_waiting"
        assert session.get(LedgerEntry, task.ledger_entry_id).saved_minutes == 5.75
