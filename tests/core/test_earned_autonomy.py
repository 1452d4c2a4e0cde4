"""Earned autonomy through the real code paths: a flow's step stays in sign-off until
caseworkers (deciding in the inbox code) kept enough of its suggestions, switches to autonomous
at the threshold, and falls back to sign-off when agreement drops. Each switch is audited with
the numbers behind it."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest
from pydantic import BaseModel
from sqlalchemy import select

from casework import audit
from casework.case import Case
from casework.db.models import AuditEvent, AutonomyState, SignoffTask
from casework.db.session import reading
from casework.inbox import decisions
from casework.inbox.identity import load_user
from casework.inbox.seed import seed_demo_users
from casework.oversight.stop_switch import set_stopped
from casework.runtime import CaseworkFlow, require_signoff

pytestmark = pytest.mark.usefixtures("prefect_api")


class Suggestion(BaseModel):
    kle: str
    confidence: float


def make_flow(tmp_path: Path):  # type: ignore[no-untyped-def]
    name = f"earn_{uuid4().hex[:8]}"
    policy = tmp_path / f"{name}.yaml"
    policy.write_text(
        f"flow: {name}\nsteps:\n  suggest:\n    kind: preparatory\n    mode: autonomous\n"
        "    manual_minutes: 6\n"
        "    autonomy: {earned: true, min_agreement: 0.8, window: 10, audit_sample: 0}\n")
    robot = CaseworkFlow(name, policy_file=policy)

    @robot.step()
    def suggest(case: Case) -> Suggestion:
        return Suggestion(kle="02.34.02", confidence=0.9)

    @robot.flow()
    def run(case_ids: list[str]) -> list[str]:
        return [require_signoff(suggest(Case(id=c, department="byggeri")), wait="record")
                .status.value for c in case_ids]

    return name, run


def decide_all(engine, flow: str, decision: str) -> int:  # type: ignore[no-untyped-def]
    with reading(engine) as s:
        anna = load_user(s, "anna.byg")
        tasks = s.execute(select(SignoffTask.id, SignoffTask.version).where(
            SignoffTask.flow == flow, SignoffTask.status == "awaiting")).all()
    for task_id, version in tasks:
        decisions.decide(engine, anna, task_id, decision=decision, version=version,
                         reason=None if decision == "approved" else "wrong subject")
    return len(tasks)


def test_autonomy_is_earned_at_the_threshold_and_withdrawn_when_agreement_drops(
        tmp_path, db_engine):
    seed_demo_users(db_engine)
    name, run = make_flow(tmp_path)

    assert run([f"A-{i}" for i in range(10)]) == ["awaiting_signoff"] * 10  # not earned yet
    assert decide_all(db_engine, name, "approved") == 10  # 10 of 10 kept

    assert run(["B-1"]) == ["completed"]  # earned: runs on its own

    set_stopped(name, stopped=True, actor="admin", reason="spot check")  # humans look again
    assert run([f"C-{i}" for i in range(3)]) == ["awaiting_signoff"] * 3
    assert decide_all(db_engine, name, "rejected") == 3  # now 7 of the last 10 kept: 70 %
    set_stopped(name, stopped=False, actor="admin", reason=None)

    assert run(["D-1"]) == ["awaiting_signoff"]  # below 80 %: back to sign-off

    with reading(db_engine) as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.flow == name,
                                                    AuditEvent.action.like("autonomy.%"))
                           .order_by(AuditEvent.seq)).all()
        state = s.get(AutonomyState, (name, "suggest"))
        assert audit.verify_chain(s).ok
    assert [(e.action, e.details["decisions"], e.details["kept"]) for e in events] == [
        ("autonomy.earned", 10, 10), ("autonomy.withdrawn", 10, 7)]
    assert events[1].details["min_agreement"] == 0.8
    assert (state.earned, state.decisions, state.kept) == (False, 10, 7)
    with reading(db_engine) as s:
        reasons = s.scalars(select(SignoffTask.payload).where(SignoffTask.flow == name,
                                                              SignoffTask.status == "awaiting")
                            ).one()["signoff_reasons"]
    assert reasons == ["autonomy not earned: 7 of the last 10 suggestions kept (70.0%); "
                       "needs 80% over 10 decisions"]
