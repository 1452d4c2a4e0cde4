"""The per-flow stop switch: while on, every step the robot runs goes to sign-off."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest
from pydantic import BaseModel
from sqlalchemy import select

from casework import audit
from casework.case import Case
from casework.db.models import AuditEvent
from casework.db.session import reading
from casework.oversight.stop_switch import STOPPED_REASON, all_switches, set_stopped, stop_reason
from casework.runtime import CaseworkFlow, require_signoff

pytestmark = pytest.mark.usefixtures("prefect_api", "db_engine")


class Suggestion(BaseModel):
    kle: str
    confidence: float


def make_flow(tmp_path: Path):
    name = f"s_{uuid4().hex[:8]}"
    policy = tmp_path / f"{name}.yaml"
    policy.write_text(f"flow: {name}\nsteps:\n"
                      "  suggest:\n    kind: preparatory\n    mode: autonomous\n"
                      "    manual_minutes: 6\n"
                      "  archive:\n    kind: preparatory\n    mode: manual\n"
                      "    manual_minutes: 2\n")
    robot = CaseworkFlow(name, policy_file=policy)

    @robot.step()
    def suggest(case: Case) -> Suggestion:
        return Suggestion(kle="02.34.02", confidence=0.99)

    @robot.step()
    def archive(case: Case) -> None:
        return None

    @robot.flow()
    def run(case_id: str) -> dict:
        case = Case(id=case_id, department="byggeri")
        outcome = suggest(case)
        decision = require_signoff(outcome, wait="record")
        return {"mode": outcome.mode.value, "status": decision.status.value,
                "reasons": outcome.reasons, "archive": archive(case).mode.value}

    return name, run


def test_stopped_flow_sends_autonomous_steps_to_signoff_and_restart_lifts_it(tmp_path):
    name, run = make_flow(tmp_path)
    assert run("SAG-1")["mode"] == "autonomous"

    set_stopped(name, stopped=True, actor="admin", reason="wrong KLE codes reported")
    stopped = run("SAG-2")
    assert stopped["mode"] == "signoff" and stopped["status"] == "awaiting_signoff"
    assert stopped["reasons"] == [f"{STOPPED_REASON}: wrong KLE codes reported"]
    assert stopped["archive"] == "manual"  # a manual step stays manual

    set_stopped(name, stopped=False, actor="admin", reason=None)
    assert run("SAG-3")["mode"] == "autonomous"

    with reading() as session:
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.flow == name)
                                  .where(AuditEvent.action.like("flow.%"))
                                  .order_by(AuditEvent.seq)).all()
        assert actions == ["flow.stopped", "flow.restarted"]
        assert audit.verify_chain(session).ok


def test_stopping_needs_a_reason_and_is_listed():
    with pytest.raises(ValueError, match="needs a reason"):
        set_stopped("journal_placement", stopped=True, actor="admin", reason="  ")
    assert stop_reason("journal_placement") is None
    set_stopped("journal_placement", stopped=True, actor="admin", reason="audit")
    assert all_switches()["journal_placement"].stopped
    assert stop_reason("journal_placement") == f"{STOPPED_REASON}: audit"
