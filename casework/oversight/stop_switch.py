"""The per-flow stop switch: an automation admin's brake on a flow's autonomy.

While a flow is stopped, every step the robot runs goes to a caseworker's sign-off whatever the
policy says (manual steps stay manual). The step runtime reads the switch at every step, so a
change takes effect for the very next step of every run, including runs already under way.
Each change is one audit event, written in the transaction that changes the switch.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import Engine, select

from casework import audit
from casework.db.models import FlowSwitch
from casework.db.session import reading, transaction

STOPPED_REASON = "flow stopped by an automation admin"


class SwitchState(BaseModel):
    flow: str
    stopped: bool
    reason: str | None = None
    changed_by: str | None = None
    changed_at: datetime | None = None


def stop_reason(flow: str, engine: Engine | None = None) -> str | None:
    """The sign-off reason to force while ``flow`` is stopped, else None (one key lookup)."""
    with reading(engine) as session:
        row = session.execute(select(FlowSwitch.stopped, FlowSwitch.reason)
                              .where(FlowSwitch.flow == flow)).first()
    if row is None or not row.stopped:
        return None
    return f"{STOPPED_REASON}: {row.reason}" if row.reason else STOPPED_REASON


def set_stopped(flow: str, *, stopped: bool, actor: str, reason: str | None,
                engine: Engine | None = None, now: datetime | None = None) -> SwitchState:
    """Stop or restart ``flow``. Stopping needs a reason; both are audited."""
    reason = (reason or "").strip() or None
    if stopped and not reason:
        raise ValueError("stopping a flow needs a reason")
    now = now or datetime.now(UTC)
    with transaction(engine) as session:
        row = session.get(FlowSwitch, flow)
        if row is None:
            row = FlowSwitch(flow=flow)
            session.add(row)
        was_stopped = bool(row.stopped)
        row.stopped, row.reason, row.changed_by, row.changed_at = stopped, reason, actor, now
        audit.append(session, actor=actor, action="flow.stopped" if stopped else "flow.restarted",
                     flow=flow, at=now,
                     details={"reason": reason, "was_stopped": was_stopped})
    return SwitchState(flow=flow, stopped=stopped, reason=reason, changed_by=actor,
                       changed_at=now)


def all_switches(engine: Engine | None = None) -> dict[str, SwitchState]:
    with reading(engine) as session:
        rows = session.scalars(select(FlowSwitch)).all()
        return {r.flow: SwitchState(flow=r.flow, stopped=r.stopped, reason=r.reason,
                                    changed_by=r.changed_by, changed_at=r.changed_at)
                for r in rows}
