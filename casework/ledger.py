"""The time-savings ledger: one row per step run, and the savings queries built on it.

Savings are computed once, here, when a row is written or a decision fills in human time:
``saved = (baseline if the robot's work was used else 0) − human minutes``. Reports and the
inbox read the stored ``saved_minutes``; nothing recomputes savings another way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from casework.db.models import LedgerEntry


class Mode(StrEnum):
    AUTONOMOUS = "autonomous"
    SIGNOFF = "signoff"
    MANUAL = "manual"
    SHADOW = "shadow"  # a person does the step; the robot's answer is compared, not used


class Outcome(StrEnum):
    COMPLETED = "completed"  # autonomous work done
    AWAITING_SIGNOFF = "awaiting_signoff"
    APPROVED = "approved"
    AMENDED = "amended"
    REJECTED = "rejected"
    MANUAL = "manual"  # left to a human by policy
    FAILED = "failed"
    ESCALATED = "escalated"  # deadline passed; handed to a human as the policy says
    DONE_BY_PERSON = "done_by_person"  # shadow mode: the person's own answer was used


#: Outcomes where the robot's work was used, so its baseline counts as saved.
WORK_USED = frozenset({Outcome.COMPLETED, Outcome.APPROVED, Outcome.AMENDED})


def saved_minutes(outcome: Outcome | str, baseline_minutes: float, human_seconds: float) -> float:
    if Outcome(outcome) is Outcome.DONE_BY_PERSON:
        return 0.0  # the person did the step as before: nothing saved, nothing extra spent
    credit = baseline_minutes if Outcome(outcome) in WORK_USED else 0.0
    return round(credit - human_seconds / 60.0, 4)


class StepRecord(BaseModel):
    """What the step runtime knows when a step run ends; becomes one ledger row."""

    id: str
    flow: str
    flow_run_id: str
    step: str
    step_kind: str
    case_ref: str = Field(pattern=r"^c_[0-9a-f]{24}$")
    policy_hash: str
    mode: Mode
    outcome: Outcome
    robot_seconds: float = Field(ge=0)
    human_seconds: float = Field(default=0.0, ge=0)
    baseline_minutes: float = Field(ge=0)
    department: str | None = None
    kle_subject: str | None = None
    reasons: list[str] = Field(default_factory=list)
    error: str | None = None
    started_at: datetime
    finished_at: datetime | None = None
    work_item_id: str | None = None  # the work item the step ran for (None: a plain flow)
    item_call: int | None = None  # which call of the step within that item


def step_values(record: StepRecord) -> dict[str, Any]:
    """The ledger row's column values for a step run (savings computed here, once)."""
    values = record.model_dump()
    values["saved_minutes"] = saved_minutes(record.outcome, record.baseline_minutes,
                                            record.human_seconds)
    values["mode"], values["outcome"] = str(record.mode), str(record.outcome)
    return values


def record_step(session: Session, record: StepRecord) -> LedgerEntry:
    """Insert or overwrite the row for this step run (a retried task keeps one row)."""
    values = step_values(record)
    entry = session.get(LedgerEntry, record.id)
    if entry is None:
        entry = LedgerEntry(**values)
        session.add(entry)
    elif entry.decided_at is None:  # a caseworker's decided row is never rewritten
        for key, value in values.items():
            setattr(entry, key, value)
    return entry


def finished_row(session: Session, step_run_id: str) -> LedgerEntry | None:
    """The row of a step run that already finished (any outcome but failed), else None.

    A flow run started again after a crash repeats its step calls with the same step run ids;
    the first finished row stands, so savings are counted once. A failed row may be replaced
    by a later attempt.
    """
    entry = session.get(LedgerEntry, step_run_id)
    if entry is None or entry.outcome == Outcome.FAILED.value:
        return None
    return entry


def record_decision(session: Session, ledger_id: str, outcome: Outcome, human_seconds: float,
                    decided_at: datetime | None = None) -> LedgerEntry:
    """Fill in a sign-off's result: the caseworker's measured time and what it saved."""
    entry = session.get(LedgerEntry, ledger_id)
    if entry is None:
        raise LookupError(f"no ledger row {ledger_id}")
    entry.outcome = str(outcome)
    entry.human_seconds = human_seconds
    entry.saved_minutes = saved_minutes(outcome, entry.baseline_minutes, human_seconds)
    entry.decided_at = decided_at or datetime.now(UTC)
    return entry


class StepSavings(BaseModel):
    """Savings of one step over a set of rows (a flow run, a period)."""

    flow: str
    step: str
    runs: int
    autonomous: int
    signoff: int
    manual: int
    failed: int
    robot_seconds: float
    human_seconds: float
    saved_minutes: float


def step_savings(session: Session, *, flow_run_id: str | None = None) -> list[StepSavings]:
    """Per-step totals, for one flow run or for the whole ledger."""
    e = LedgerEntry
    query = (
        select(
            e.flow, e.step, func.count(),
            func.sum(case((e.mode == "autonomous", 1), else_=0)),
            func.sum(case((e.mode == "signoff", 1), else_=0)),
            func.sum(case((e.mode == "manual", 1), else_=0)),
            func.sum(case((e.outcome == "failed", 1), else_=0)),
            func.coalesce(func.sum(e.robot_seconds), 0.0),
            func.coalesce(func.sum(e.human_seconds), 0.0),
            func.coalesce(func.sum(e.saved_minutes), 0.0),
        )
        .group_by(e.flow, e.step)
        .order_by(e.flow, func.min(e.started_at))
    )
    if flow_run_id is not None:
        query = query.where(e.flow_run_id == flow_run_id)
    return [
        StepSavings(flow=f, step=s, runs=n, autonomous=a, signoff=so, manual=m, failed=fl,
                    robot_seconds=rs, human_seconds=hs, saved_minutes=sm)
        for f, s, n, a, so, m, fl, rs, hs, sm in session.execute(query)
    ]


def total_saved_hours(session: Session) -> float:
    minutes = session.scalar(select(func.coalesce(func.sum(LedgerEntry.saved_minutes), 0.0)))
    return float(minutes or 0.0) / 60.0
