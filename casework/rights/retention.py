"""Retention: erase the personal data of old, decided sign-off tasks; keep what must be kept.

The audit log is kept whole (AI Act Art. 12 and 26(6): logs at least six months; its hash
chain must keep verifying), and the ledger holds only pseudonymised references and numbers,
so both stay. What holds personal data is a task's payload (the case summary, the robot's
suggestion and sources), the caseworker's amended value and reason, the review-time rows and
the decision's outbox row; those are blanked once the decision is older than the retention.
Work items hold the letter or case they were made from (payload) and the typed results of
their steps; those are blanked once the item finished longer ago than the retention (the item
row, its state and its steps' routing stay, so a re-collected source is still known as done).
Inbox login sessions (who was logged in when, and the identity provider's token) ended long
before the retention; their rows are deleted once created before the cutoff.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session

from casework import audit
from casework.db.models import (
    DecisionOutbox,
    InboxSession,
    ItemStep,
    SignoffTask,
    TaskView,
    WorkItem,
)
from casework.db.session import transaction
from casework.settings import get_settings

MINIMUM_DAYS = 183  # six months, the AI Act's floor for keeping logs
ACTOR = "system:retention"
#: Payload fields without personal data, kept after erasure (an allow-list: any other field,
#: such as the case summary, the suggestion, its sources or a review's history, is erased).
KEPT_FIELDS = frozenset({"policy_hash", "signoff_reasons", "confidence", "review_of"})


class RetentionError(ValueError):
    """A retention shorter than the law allows; nothing was erased."""


class RetentionReport(BaseModel):
    retention_days: int
    cutoff: datetime
    dry_run: bool
    tasks_erased: int
    task_views_deleted: int
    outbox_rows_erased: int
    items_erased: int = 0
    sessions_deleted: int = 0


def check_days(days: int) -> int:
    if days < MINIMUM_DAYS:
        raise RetentionError(
            f"CASEWORK_RETENTION_DAYS={days} is below {MINIMUM_DAYS} days: decisions and their "
            "logs must be kept at least six months (AI Act Art. 12 and 26(6)). Nothing was "
            "erased.")
    return days


def erased_marker(now: datetime) -> dict[str, Any]:
    return {"erased": "retention", "at": now.astimezone(UTC).isoformat(timespec="seconds")}


def apply_retention(*, dry_run: bool = False, days: int | None = None,
                    now: datetime | None = None, engine: Engine | None = None,
                    batch: int = 500) -> RetentionReport:
    """Erase personal data of tasks decided before ``now - days``; one audit event per run.

    Runs in one transaction, so a crash erases nothing half-way; the audit event commits with
    the erasure it records. ``dry_run`` counts what would be erased and changes nothing.
    """
    days = check_days(get_settings().retention_days if days is None else days)
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=days)
    with transaction(engine) as session:
        ids = _due(session, cutoff)
        views = _count(session, TaskView, TaskView.signoff_task_id, ids)
        outbox = _count(session, DecisionOutbox, DecisionOutbox.signoff_task_id, ids,
                        DecisionOutbox.status == "delivered")
        items = _due_items(session, cutoff)
        old_sessions = InboxSession.created_at < cutoff
        sessions = session.scalar(select(func.count()).select_from(InboxSession)
                                  .where(old_sessions)) or 0
        report = RetentionReport(retention_days=days, cutoff=cutoff, dry_run=dry_run,
                                 tasks_erased=len(ids), task_views_deleted=views,
                                 outbox_rows_erased=outbox, items_erased=len(items),
                                 sessions_deleted=sessions)
        if dry_run:
            return report
        marker = erased_marker(now)
        for start in range(0, len(ids), batch):
            _erase(session, ids[start:start + batch], marker)
        for start in range(0, len(items), batch):
            _erase_items(session, items[start:start + batch], now)
        session.execute(delete(InboxSession).where(old_sessions)
                        .execution_options(synchronize_session=False))
        audit.append(session, actor=ACTOR, action="retention.applied", at=now,
                     details={"retention_days": days, "cutoff": cutoff.isoformat(),
                              "tasks_erased": len(ids), "task_views_deleted": views,
                              "outbox_rows_erased": outbox, "items_erased": len(items),
                              "sessions_deleted": sessions})
    return report


def _due(session: Session, cutoff: datetime) -> list[str]:
    """Decided tasks older than the cutoff whose payload still holds personal data (not those a
    work item still has to act on: its caseworker's amended value must reach the act)."""
    unfinished = set(session.scalars(select(WorkItem.id).where(
        WorkItem.state.not_in(("done", "manual")))))
    rows = session.execute(
        select(SignoffTask.id, SignoffTask.payload)
        .where(SignoffTask.status == "decided", SignoffTask.decided_at < cutoff)
        .order_by(SignoffTask.decided_at)
    )
    return [task_id for task_id, payload in rows if "erased" not in (payload or {})
            and (payload or {}).get("work_item_id") not in unfinished]


def _count(session: Session, model: Any, column: Any, ids: list[str], *where: Any) -> int:
    total = 0
    for start in range(0, len(ids), 500):
        total += session.scalar(select(func.count()).select_from(model)
                                .where(column.in_(ids[start:start + 500]), *where)) or 0
    return total


def _erase(session: Session, ids: list[str], marker: dict[str, Any]) -> None:
    for task in session.scalars(select(SignoffTask).where(SignoffTask.id.in_(ids))):
        kept = {k: v for k, v in (task.payload or {}).items() if k in KEPT_FIELDS}
        task.payload = {**kept, **marker}
        task.decision_value = marker if task.decision_value is not None else None
        task.decision_reason = None
    session.execute(delete(TaskView).where(TaskView.signoff_task_id.in_(ids)))
    for row in session.scalars(select(DecisionOutbox).where(
            DecisionOutbox.signoff_task_id.in_(ids), DecisionOutbox.status == "delivered")):
        row.run_input = {k: v for k, v in row.run_input.items()
                         if k not in ("value", "reason")} | marker


def _due_items(session: Session, cutoff: datetime) -> list[str]:
    """Finished work items older than the cutoff whose payload is not yet erased."""
    return list(session.scalars(
        select(WorkItem.id).where(WorkItem.state.in_(("done", "manual")),
                                  WorkItem.finished_at < cutoff,
                                  WorkItem.payload_erased_at.is_(None))
        .order_by(WorkItem.finished_at)))


def _erase_items(session: Session, ids: list[str], now: datetime) -> None:
    session.execute(update(WorkItem).where(WorkItem.id.in_(ids))
                    .values(payload=None, result=None, last_error=None, payload_erased_at=now))
    session.execute(update(ItemStep).where(ItemStep.work_item_id.in_(ids)).values(result=None))
