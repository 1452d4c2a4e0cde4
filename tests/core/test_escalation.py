"""Overdue sign-off tasks are escalated as the policy says (remind, reassign, manual) and are
never approved; escalation to manual wakes the waiting flow, which goes on without the work."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from pydantic import BaseModel
from sqlalchemy import select, update

from casework import ledger
from casework.case import Case
from casework.db.models import AuditEvent, DecisionOutbox, LedgerEntry, SignoffTask
from casework.db.session import reading, transaction
from casework.ledger import Mode, Outcome, StepRecord
from casework.runtime import CaseworkFlow, require_signoff
from casework.signoff.escalation import escalate_overdue
from casework.signoff.outbox import deliver_pending
from casework.signoff.tasks import create_signoff_task

LATER = datetime.now(UTC) + timedelta(days=10)


def make_task(on_overdue: str, *, claimed_by: str | None = None) -> str:
    ledger_id = str(uuid4())
    now = datetime.now(UTC)
    with transaction() as session:
        ledger.record_step(session, StepRecord(
            id=ledger_id, flow="f", flow_run_id=str(uuid4()), step="suggest",
            step_kind="preparatory", case_ref="c_" + uuid4().hex[:24], policy_hash="h",
            mode=Mode.SIGNOFF, outcome=Outcome.AWAITING_SIGNOFF, robot_seconds=0.1,
            baseline_minutes=6, started_at=now))
        session.flush()
        task = create_signoff_task(
            session, ledger_entry_id=ledger_id, flow="f", flow_run_id=str(uuid4()),
            step="suggest", case_ref="c_" + uuid4().hex[:24], department="byggeri",
            roles=["caseworker"], departments=[], suggestion={"kle": "02.34.02"}, reasons=[],
            case_summary="x", deadline_hours=24, policy_hash="h", on_overdue=on_overdue,
            now=now)
        task.claimed_by = claimed_by
    return ledger_id


def task(task_id: str) -> SignoffTask:
    with reading() as session:
        return session.get(SignoffTask, task_id)


@pytest.mark.usefixtures("db_engine")
def test_nothing_is_escalated_before_the_deadline():
    make_task("manual")
    assert escalate_overdue().model_dump() == {"reminded": 0, "reassigned": 0, "manual": 0}


@pytest.mark.usefixtures("db_engine")
def test_remind_keeps_the_task_with_its_holder_and_happens_once():
    task_id = make_task("remind", claimed_by="anna.byg")
    assert escalate_overdue(now=LATER).reminded == 1
    row = task(task_id)
    assert (row.status, row.escalation, row.claimed_by) == ("awaiting", "reminded", "anna.byg")
    assert escalate_overdue(now=LATER + timedelta(days=1)).reminded == 0


@pytest.mark.usefixtures("db_engine")
def test_reassign_hands_the_task_back_to_the_team_queue():
    task_id = make_task("reassign", claimed_by="anna.byg")
    assert escalate_overdue(now=LATER).reassigned == 1
    row = task(task_id)
    assert (row.status, row.escalation, row.claimed_by) == ("awaiting", "reassigned", None)


@pytest.mark.usefixtures("db_engine")
def test_manual_closes_the_task_without_approving_and_queues_a_wake_up():
    task_id = make_task("manual")
    assert escalate_overdue(now=LATER).manual == 1
    row = task(task_id)
    assert (row.status, row.decision, row.decided_by) == ("decided", "manual", "system:deadline")
    with reading() as session:
        entry = session.get(LedgerEntry, task_id)
        outbox = session.scalars(select(DecisionOutbox)).one()
        actions = session.scalars(select(AuditEvent.action)).all()
    assert (entry.outcome, entry.saved_minutes) == ("escalated", 0.0)
    assert outbox.run_input["decision"] == "manual" and outbox.status == "pending"
    assert "signoff.overdue_manual" in actions and not any("approved" in a for a in actions)


@pytest.mark.usefixtures("db_engine")
def test_a_decision_taken_first_wins_over_the_escalation():
    task_id = make_task("manual")
    with transaction() as session:
        session.execute(update(SignoffTask).where(SignoffTask.id == task_id)
                        .values(status="decided", decision="approved", decided_by="anna.byg"))
    assert escalate_overdue(now=LATER).manual == 0
    assert task(task_id).decision == "approved"


class Suggestion(BaseModel):
    kle: str


@pytest.mark.usefixtures("prefect_api", "db_engine")
def test_a_paused_flow_goes_on_as_manual_when_the_deadline_passes(tmp_path: Path):
    name = f"e_{uuid4().hex[:8]}"
    policy = tmp_path / f"{name}.yaml"
    policy.write_text(f"flow: {name}\nsteps:\n  suggest:\n    kind: preparatory\n"
                      "    mode: signoff\n    manual_minutes: 6\n    deadline_hours: 2\n"
                      "    on_overdue: manual\n")
    robot = CaseworkFlow(name, policy_file=policy)

    @robot.step()
    def suggest(case: Case) -> Suggestion:
        return Suggestion(kle="02.34.02")

    @robot.flow()
    def run() -> dict:
        decision = require_signoff(suggest(Case(id="SAG-5", department="byggeri")),
                                   wait="pause")
        return {"status": decision.status.value, "proceed": decision.proceed}

    from test_signoff_wait import wait_for_paused_task

    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(run()), daemon=True)
    thread.start()
    paused = wait_for_paused_task()
    assert paused.on_overdue == "manual"
    assert escalate_overdue(now=LATER).manual == 1
    assert deliver_pending().delivered == 1
    thread.join(timeout=60)
    assert result == {"status": "manual", "proceed": False}
