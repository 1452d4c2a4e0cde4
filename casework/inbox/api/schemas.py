"""What the JSON API takes and gives: pydantic models, so OpenAPI documents them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from casework.db.models import SignoffTask
from casework.inbox.values import MAX_TEXT

MAX_INT = 2**31 - 1


class TaskSummary(BaseModel):
    id: str
    flow: str
    step: str
    kind: str = Field(description="signoff, shadow (answer without seeing the robot's) or "
                                  "review (a citizen's request for human review)")
    department: str | None
    status: str
    summary: str | None = Field(description="What the caseworker sees about the case.")
    created_at: datetime
    deadline: datetime | None
    claimed_by: str | None
    four_eyes: bool
    version: int = Field(description="Send it back with a decision (stale-write guard).")


class TaskDetail(TaskSummary):
    suggestion: Any = Field(None, description="The robot's result (hidden on open shadow "
                                              "tasks).")
    signoff_reasons: list[str] = []
    result_schema: dict[str, Any] | None = Field(
        None, description="JSON schema an amended value must fit (merged with suggestion).")
    decision: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None
    decision_value: dict[str, Any] | None = None


class TaskPage(BaseModel):
    tasks: list[TaskSummary]
    total: int
    page: int
    pages: int


class DecideRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approved", "amended", "rejected", "answer"]
    version: int = Field(ge=0, le=MAX_INT)
    reason: str | None = Field(None, max_length=MAX_TEXT,
                               description="Required for amended and rejected.")
    value: dict[str, Any] | None = Field(
        None, description="amended / answer: the fields to change (checked against the "
                          "step's result schema, KLE codes must exist).")


class DecideResponse(BaseModel):
    task_id: str
    decision: str
    human_seconds: float


class ReleaseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reassign_to: str | None = Field(None, max_length=100,
                                    description="Team leads: give the task to this user.")


class Me(BaseModel):
    id: str
    display_name: str
    departments: list[str]
    roles: list[str]
    token: str = Field(description="The token's name.")


class Problem(BaseModel):
    error: str = Field(description="A stable key, e.g. four_eyes_refused, stale, not_found.")
    values: dict[str, Any] = {}


def summary_of(task: SignoffTask) -> TaskSummary:
    return TaskSummary(
        id=task.id, flow=task.flow, step=task.step, kind=task.kind, department=task.department,
        status=task.status, summary=(task.payload or {}).get("case_summary"),
        created_at=task.created_at, deadline=task.deadline, claimed_by=task.claimed_by,
        four_eyes=task.four_eyes, version=task.version)


def detail_of(task: SignoffTask) -> TaskDetail:
    payload = task.payload or {}
    hidden = task.kind == "shadow" and task.status == "awaiting"
    return TaskDetail(
        **summary_of(task).model_dump(),
        suggestion=None if hidden else payload.get("suggestion"),
        signoff_reasons=list(payload.get("signoff_reasons") or []),
        result_schema=payload.get("result_schema"),
        decision=task.decision, decided_by=task.decided_by, decided_at=task.decided_at,
        decision_reason=task.decision_reason, decision_value=task.decision_value)
