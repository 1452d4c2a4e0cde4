"""Sign-off tasks from earlier runs, so a letter or case that waits for a caseworker gets one
task, however often the flow runs, and the caseworker's decision is used when it comes.

A flow that records sign-off work and goes on (``CASEWORK_SIGNOFF_WAIT=record``) leaves the
work item in its source (the letter unacknowledged, the case unplaced); the next run asks here
before running the step again.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import select

from casework.db.models import SignoffTask
from casework.db.session import reading
from casework.ledger import Outcome
from casework.runtime import Decision
from casework.signoff.decisions import mark_consumed

M = TypeVar("M", bound=BaseModel)


def earlier_decision(flow: str, step: str, case_ref: str, result_type: type[M],
                     ) -> Decision[M] | None:
    """The newest sign-off task for this step and case, as a ``Decision``; ``None`` if none.

    Awaiting → ``awaiting_signoff``; approved → the stored suggestion; amended → the suggestion
    with the caseworker's changes; rejected or manual → no value.
    """
    with reading() as session:
        task = session.scalars(
            select(SignoffTask)
            .where(SignoffTask.flow == flow, SignoffTask.step == step,
                   SignoffTask.case_ref == case_ref)
            .order_by(SignoffTask.created_at.desc()).limit(1)
        ).first()
        if task is None:
            return None
        task_id, decision = task.id, task.decision
        suggestion: Any = (task.payload or {}).get("suggestion")
        amended: dict[str, Any] | None = task.decision_value
        reasons = list((task.payload or {}).get("signoff_reasons") or [])
    common = {"step": step, "case_ref": case_ref, "signoff_task_id": task_id, "reasons": reasons}
    if decision is None:
        return Decision(status=Outcome.AWAITING_SIGNOFF, **common)
    status = Outcome(decision)
    value = None
    if status in (Outcome.APPROVED, Outcome.AMENDED) and isinstance(suggestion, dict):
        merged = {**suggestion, **(amended or {})} if status is Outcome.AMENDED else suggestion
        value = result_type.model_validate(merged)
    mark_consumed(task_id)
    return Decision(status=status, value_=value, **common)
