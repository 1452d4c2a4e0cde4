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
from casework.settings import get_settings


class SignoffInput(RunInput):
    """What a waiting flow run is handed when it is woken: the sign-off task's id, nothing else.

    The decision itself (value, reason, who decided) stays in our database; Prefect keeps run
    inputs indefinitely, so they must not hold an amended letter or a caseworker's reason. A
    resume typed into Prefect's UI is therefore never an approval: the run reads the decision
    back and, finding none, waits again.
    """

    task_id: str = Field(description="The sign-off task this run waits for (set by the "
                                     "sign-off service; decide in the inbox, not here).")


def task_link(task_id: str) -> str:
    """The task's page in the sign-off inbox."""
    return f"{get_settings().inbox_url.rstrip('/')}/tasks/{task_id}"


def signoff_input_for(task_id: str) -> type[SignoffInput]:
    """The input form Prefect shows on a waiting run: it says where the decision is made."""
    description = (
        f"**Decide in the sign-off inbox:** [{task_link(task_id)}]({task_link(task_id)})\n\n"
        "This run waits for a caseworker's decision on that task. Resuming it here decides "
        "nothing: the run finds no decision in the casework database, records the resume in "
        "the audit log and waits again.")
    return SignoffInput.with_initial_data(description=description, task_id=task_id)


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
