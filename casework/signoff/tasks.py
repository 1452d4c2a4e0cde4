"""Creating sign-off tasks. Stored in the same transaction as the step's ledger row, so a step
that needs sign-off is durably "awaiting sign-off" the moment the step ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from casework.db.models import SignoffTask


def to_jsonable(value: Any) -> Any:
    """The robot's result as JSON for the caseworker's screen."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict | list | str | int | float | bool) or value is None:
        return value
    return {"value": repr(value)}


def result_schema(value: Any) -> dict[str, Any] | None:
    """The JSON schema of the robot's result model, kept on the task so that the inbox can
    check an amended value against it before storing it (None for a plain JSON result)."""
    if isinstance(value, BaseModel):
        return type(value).model_json_schema(mode="validation")
    return None


def signoff_task_values(
    *, ledger_entry_id: str, flow: str, flow_run_id: str, step: str,
    case_ref: str, department: str | None, roles: list[str], departments: list[str],
    suggestion: Any, reasons: list[str], case_summary: str | None,
    deadline_hours: float | None, policy_hash: str, four_eyes: bool = False,
    on_overdue: str = "remind", now: datetime | None = None, kind: str = "signoff",
) -> dict[str, Any]:
    """The column values of a new task: one place defines the row (and its payload) for the
    runtime and for bulk loads such as ``bench/inbox_latency.py``."""
    now = now or datetime.now(UTC)
    suggestion_json = to_jsonable(suggestion)
    fields = suggestion_json if isinstance(suggestion_json, dict) else {}
    return {
        "id": ledger_entry_id,
        "ledger_entry_id": ledger_entry_id,
        "flow": flow, "flow_run_id": flow_run_id, "step": step, "case_ref": case_ref,
        "department": department, "status": "awaiting", "four_eyes": four_eyes,
        "on_overdue": on_overdue, "version": 1, "kind": kind,
        "signoff_roles": roles,
        "signoff_departments": departments or ([department] if department else []),
        "payload": {
            "case_summary": case_summary,
            "suggestion": suggestion_json,
            "confidence": fields.get("confidence"),
            "why": fields.get("why") or fields.get("reason") or fields.get("evidence"),
            "alternatives": fields.get("alternatives", []),
            "sources": fields.get("sources", []),
            "signoff_reasons": reasons,
            "policy_hash": policy_hash,
            "result_schema": result_schema(suggestion),
        },
        "created_at": now,
        "deadline": now + timedelta(hours=deadline_hours) if deadline_hours else None,
    }


def create_signoff_task(
    session: Session, *, ledger_entry_id: str, flow: str, flow_run_id: str, step: str,
    case_ref: str, department: str | None, roles: list[str], departments: list[str],
    suggestion: Any, reasons: list[str], case_summary: str | None,
    deadline_hours: float | None, policy_hash: str, four_eyes: bool = False,
    on_overdue: str = "remind", now: datetime | None = None, kind: str = "signoff",
) -> SignoffTask:
    """Store (or return the already stored) task for this step run."""
    existing = session.query(SignoffTask).filter_by(ledger_entry_id=ledger_entry_id).one_or_none()
    if existing is not None:
        return existing
    task = SignoffTask(**signoff_task_values(
        ledger_entry_id=ledger_entry_id, flow=flow, flow_run_id=flow_run_id, step=step,
        case_ref=case_ref, department=department, roles=roles, departments=departments,
        suggestion=suggestion, reasons=reasons, case_summary=case_summary,
        deadline_hours=deadline_hours, policy_hash=policy_hash, four_eyes=four_eyes,
        on_overdue=on_overdue, now=now, kind=kind))
    session.add(task)
    return task
