"""Overdue sign-off tasks: escalate them as the step's policy says, never approve them.

``on_overdue`` in the policy:

* ``remind``   — the task is marked as reminded (the inbox shows it as overdue and reminded,
                 team leads see it on the oversight page) and stays with its holder;
* ``reassign`` — the holder's claim is dropped so the whole team queue sees the task;
* ``manual``   — the robot's work is set aside: the task is closed as "manual", the ledger row
                 becomes ``escalated`` (nothing saved), and the waiting flow run is woken
                 through the decision outbox and goes on as if the step were manual.

Each task is escalated once, by a conditional update that only touches a task still awaiting,
so a caseworker deciding at the same moment wins or loses cleanly, never half.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import Engine, select, update

from casework import audit
from casework.db.models import DecisionOutbox, SignoffTask
from casework.db.session import transaction
from casework.ledger import Outcome, record_decision

ACTOR = "system:deadline"
DONE = {"remind": "reminded", "reassign": "reassigned", "manual": "manual"}


class EscalationReport(BaseModel):
    reminded: int = 0
    reassigned: int = 0
    manual: int = 0


def escalate_overdue(engine: Engine | None = None, *, now: datetime | None = None,
                     limit: int = 500) -> EscalationReport:
    """One pass over tasks whose deadline has passed and that were not escalated yet."""
    now = now or datetime.now(UTC)
    report = EscalationReport()
    with transaction(engine) as session:
        due = session.execute(
            select(SignoffTask.id, SignoffTask.on_overdue)
            .where(SignoffTask.status == "awaiting", SignoffTask.escalated_at.is_(None),
                   SignoffTask.deadline.is_not(None), SignoffTask.deadline < now)
            .order_by(SignoffTask.deadline).limit(limit)
        ).all()
    for task_id, on_overdue in due:
        action = on_overdue if on_overdue in DONE else "remind"
        if _escalate_one(engine, task_id, action, now):
            field = DONE[action]
            setattr(report, field, getattr(report, field) + 1)
    return report


def _escalate_one(engine: Engine | None, task_id: str, action: str, now: datetime) -> bool:
    values: dict[str, object] = {"escalation": DONE[action], "escalated_at": now,
                                 "version": SignoffTask.version + 1}
    if action == "reassign":
        values |= {"claimed_by": None, "claimed_at": None}
    if action == "manual":
        values |= {"status": "decided", "decision": "manual", "decided_by": ACTOR,
                   "decided_at": now, "decision_reason": "deadline passed; policy: manual"}
    with transaction(engine) as session:
        changed = session.execute(
            update(SignoffTask)
            .where(SignoffTask.id == task_id, SignoffTask.status == "awaiting",
                   SignoffTask.escalated_at.is_(None))
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            return False  # decided or escalated by someone else meanwhile
        task = session.get(SignoffTask, task_id)
        assert task is not None
        if action == "manual":
            record_decision(session, task.ledger_entry_id, Outcome.ESCALATED, 0.0, decided_at=now)
            session.add(DecisionOutbox(
                id=str(uuid.uuid4()), signoff_task_id=task.id, flow_run_id=task.flow_run_id,
                run_input={"decision": "manual", "value": None,
                           "reason": "deadline passed; policy: manual",
                           "decided_by": ACTOR, "human_seconds": 0.0},
                status="pending", attempts=0, created_at=now,
            ))
        audit.append(session, actor=ACTOR, action=f"signoff.overdue_{DONE[action]}",
                     flow=task.flow, step=task.step, case_ref=task.case_ref, at=now,
                     details={"signoff_task_id": task.id, "on_overdue": action,
                              "deadline": task.deadline.isoformat() if task.deadline else None})
    return True
