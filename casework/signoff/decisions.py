"""Reading a caseworker's stored decision back, for the flow that waits for it.

The database is the source of truth: the inbox stores the decision (and its outbox row) in one
transaction; Prefect's resume only wakes the flow. A flow re-run after ``suspend`` finds the
decision here without waiting again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from prefect.input import RunInput
from pydantic import BaseModel, Field
from sqlalchemy import update

from casework.db.models import DecisionOutbox, SignoffTask
from casework.db.session import reading, transaction


class SignoffInput(RunInput):
    """What a paused flow receives when a caseworker has decided (validated by Prefect)."""

    decision: Literal["approved", "amended", "rejected", "manual"]
    value: dict[str, Any] | None = None
    reason: str | None = None
    decided_by: str
    human_seconds: float = Field(ge=0)


class StoredDecision(BaseModel):
    """``manual``: the deadline passed and the policy said a person does the step by hand."""

    decision: Literal["approved", "amended", "rejected", "manual"]
    value: dict[str, Any] | None
    reason: str | None
    decided_by: str | None


def stored_decision(task_id: str) -> StoredDecision | None:
    """The decision on a sign-off task, or None while it is undecided."""
    with reading() as session:
        task = session.get(SignoffTask, task_id)
        if task is None:
            raise LookupError(f"no sign-off task {task_id}")
        if task.decision is None:
            return None
        return StoredDecision(decision=task.decision, value=task.decision_value,
                              reason=task.decision_reason, decided_by=task.decided_by)


def mark_consumed(task_id: str) -> None:
    """The flow has the decision: its outbox row needs no (further) delivery."""
    with transaction() as session:
        session.execute(
            update(DecisionOutbox)
            .where(DecisionOutbox.signoff_task_id == task_id)
            .where(DecisionOutbox.status != "delivered")
            .values(status="delivered", delivered_at=datetime.now(UTC))
        )
