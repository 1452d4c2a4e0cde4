"""Every state change of a work item: add (deduplicated by key), claim under a lease, renew,
park at a sign-off, finish, fail (retry with backoff, then a person), and the decisions that
make parked items ready again.

Claims are safe with several workers: on PostgreSQL rows are locked with ``FOR UPDATE SKIP
LOCKED`` so two workers never take one item; SQLite serialises writers (``BEGIN IMMEDIATE``).
Each change but ``add`` is conditional on the caller still holding the lease, so a worker whose
lease ran out (and whose item another worker took) changes nothing.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from casework import audit, ledger
from casework.db.models import SignoffTask, WorkItem
from casework.db.session import reading, transaction
from casework.items.states import CLAIMABLE, ItemState
from casework.ledger import Mode, Outcome, StepRecord
from casework.privacy import mask_cpr

#: The step name of the task a person gets when a robot could not finish an item.
HANDLE_BY_HAND = "handle_by_hand"


def _now() -> datetime:
    return datetime.now(UTC)


def worker_name(flow_run_id: str | None = None) -> str:
    """Who holds a lease: host, process and (when known) the flow run."""
    run = f":{flow_run_id[:8]}" if flow_run_id else ""
    return f"{socket.gethostname()}:{os.getpid()}{run}"[:200]


class NewItem(BaseModel):
    """An item to add: its source key and payload (kept in our database only)."""

    key: str
    payload: dict[str, Any]
    case_ref: str | None = None


class Added(BaseModel):
    """What ``add`` did: the item id for each key given (in order), and which were new."""

    ids: list[str]
    new: list[str]

    @property
    def existing(self) -> list[str]:
        fresh = set(self.new)
        return [i for i in self.ids if i not in fresh]


class Claimed(BaseModel):
    id: str
    flow: str
    key: str
    payload: dict[str, Any] | None
    attempts: int
    case_ref: str | None
    state_before: ItemState


def add(flow: str, items: Iterable[NewItem], *, max_attempts: int | None = None,
        session: Session | None = None) -> Added:
    """Add items to ``flow``'s queue; a key already there (in any state) adds nothing."""
    from casework.settings import get_settings

    wanted = list(items)
    if not wanted:
        return Added(ids=[], new=[])
    attempts = max_attempts or get_settings().item_max_attempts
    if session is None:
        with transaction() as own:
            return add(flow, wanted, max_attempts=attempts, session=own)
    now = _now()
    rows = [{"id": str(uuid.uuid4()), "flow": flow, "key": i.key, "state": ItemState.NEW.value,
             "payload": i.payload, "case_ref": i.case_ref, "attempts": 0,
             "max_attempts": attempts, "created_at": now, "updated_at": now}
            for i in {i.key: i for i in wanted}.values()]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for start in range(0, len(rows), 500):
        session.execute(insert(WorkItem).values(rows[start:start + 500])
                        .on_conflict_do_nothing(index_elements=["flow", "key"]))
    keys = [i.key for i in wanted]
    found: dict[str, str] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        found.update(session.execute(select(WorkItem.key, WorkItem.id).where(
            WorkItem.flow == flow, WorkItem.key.in_(chunk))).all())
    proposed = {r["key"]: r["id"] for r in rows}
    ids = [found[k] for k in keys]
    new = [found[k] for k in dict.fromkeys(keys) if found[k] == proposed[k]]
    if new:
        audit.append(session, actor=f"robot:{flow}", action="items.added", flow=flow,
                     details={"added": len(new), "already_there": len(set(ids)) - len(new)})
    return Added(ids=ids, new=new)


def promote_decided(session: Session, flow: str | None = None) -> int:
    """Items parked at a task a caseworker has decided become ready; an item handed to a person
    whose task was approved ("let the robot try again") becomes ready with fresh attempts."""
    decided = select(SignoffTask.id).where(SignoffTask.decision.is_not(None))
    where = [WorkItem.state == ItemState.AWAITING_SIGNOFF.value,
             WorkItem.parked_task_id.in_(decided)]
    if flow is not None:
        where.append(WorkItem.flow == flow)
    promoted = session.execute(update(WorkItem).where(*where).values(
        state=ItemState.READY.value, updated_at=_now())).rowcount or 0
    retry = select(SignoffTask.id).where(SignoffTask.decision == "approved",
                                         SignoffTask.step == HANDLE_BY_HAND)
    where = [WorkItem.state == ItemState.MANUAL.value, WorkItem.parked_task_id.in_(retry)]
    if flow is not None:
        where.append(WorkItem.flow == flow)
    promoted += session.execute(update(WorkItem).where(*where).values(
        state=ItemState.READY.value, attempts=0, parked_task_id=None, not_before=None,
        updated_at=_now())).rowcount or 0
    return promoted


def _takeable(now: datetime) -> Any:
    """Items a run may take now: new, ready, failed and due for a retry, or held by a worker
    whose lease ran out. (Parked items become ready through ``promote_decided``.)"""
    w = WorkItem
    return or_(
        and_(w.state.in_([s.value for s in CLAIMABLE]),
             or_(w.not_before.is_(None), w.not_before <= now)),
        and_(w.state == ItemState.IN_PROGRESS.value, w.lease_expires_at < now))


def claim(flow: str, holder: str, *, limit: int, lease_seconds: float,
          item_ids: Sequence[str] | None = None, flow_run_id: str | None = None,
          token: str | None = None, now: datetime | None = None) -> list[Claimed]:
    """Take up to ``limit`` items of ``flow`` that are new, ready, due for a retry, or whose
    holder's lease ran out, oldest first, and hold them for ``lease_seconds``."""
    now = now or _now()
    with transaction() as session:
        promote_decided(session, flow)
        w = WorkItem
        query = (select(w).where(w.flow == flow, _takeable(now))
                 .order_by(w.created_at, w.id).limit(limit).with_for_update(skip_locked=True))
        if item_ids is not None:
            query = query.where(w.id.in_(list(item_ids)))
        if token is not None:  # one pass takes an item once (a retry waits for the next run)
            query = query.where(or_(w.claim_token.is_(None), w.claim_token != token))
        rows = list(session.scalars(query))
        claimed = []
        for row in rows:
            if row.state == ItemState.IN_PROGRESS.value:
                # Its worker stopped (crashed, killed) while holding it: that was an attempt.
                # An item that keeps killing its worker goes to a person, not round forever.
                row.attempts += 1
                row.last_error = "the worker processing it stopped (its lease ran out)"
                if row.attempts >= row.max_attempts:
                    row.state, row.finished_at = ItemState.MANUAL.value, now
                    row.lease_holder = row.lease_expires_at = None
                    row.parked_task_id = _hand_to_person(session, row, None, flow_run_id)
                    audit.append(session, actor=f"robot:{row.flow}", action="item.manual",
                                 flow=row.flow, case_ref=row.case_ref,
                                 details={"item_id": row.id, "attempts": row.attempts,
                                          "error": "lease ran out"})
                    continue
            claimed.append(Claimed(id=row.id, flow=row.flow, key=row.key, payload=row.payload,
                                   attempts=row.attempts, case_ref=row.case_ref,
                                   state_before=ItemState(row.state)))
            row.state, row.lease_holder = ItemState.IN_PROGRESS.value, holder
            row.lease_expires_at = now + timedelta(seconds=lease_seconds)
            row.updated_at, row.last_flow_run_id, row.claim_token = now, flow_run_id, token
        return claimed


def claimable_count(flow: str, *, item_ids: Sequence[str] | None = None,
                    now: datetime | None = None) -> int:
    """How many items of ``flow`` a run would take now (decided parked ones included)."""
    now = now or _now()
    w = WorkItem
    decided = select(SignoffTask.id).where(SignoffTask.decision.is_not(None))
    query = select(func.count()).select_from(w).where(w.flow == flow, or_(
        _takeable(now),
        and_(w.state == ItemState.AWAITING_SIGNOFF.value, w.parked_task_id.in_(decided))))
    if item_ids is not None:
        query = query.where(w.id.in_(list(item_ids)))
    with reading() as session:
        return int(session.scalar(query) or 0)


def renew(holder: str, item_ids: Sequence[str], lease_seconds: float) -> set[str]:
    """Extend the leases this worker still holds; returns the ids it still holds (an item
    missing from the answer was taken over by another worker: stop working on it)."""
    if not item_ids:
        return set()
    now = _now()
    with transaction() as session:
        held = set(session.scalars(select(WorkItem.id).where(
            WorkItem.id.in_(list(item_ids)), WorkItem.lease_holder == holder,
            WorkItem.state == ItemState.IN_PROGRESS.value).with_for_update()))
        if held:
            session.execute(update(WorkItem).where(WorkItem.id.in_(held)).values(
                lease_expires_at=now + timedelta(seconds=lease_seconds)))
        return held


def _held(session: Session, item_id: str, holder: str) -> WorkItem | None:
    # Locked (PostgreSQL): a claim by another worker cannot slip in between check and write.
    row = session.get(WorkItem, item_id, with_for_update=True)
    if row is None or row.lease_holder != holder or row.state != ItemState.IN_PROGRESS.value:
        return None  # the lease ran out and another worker has the item now
    return row


def park(item_id: str, holder: str, *, task_id: str, case_ref: str | None) -> bool:
    """The item waits for a caseworker's decision on ``task_id``."""
    with transaction() as session:
        row = _held(session, item_id, holder)
        if row is None:
            return False
        decided = session.scalar(select(SignoffTask.decision).where(SignoffTask.id == task_id))
        row.state = (ItemState.READY if decided else ItemState.AWAITING_SIGNOFF).value
        row.parked_task_id, row.lease_holder, row.lease_expires_at = task_id, None, None
        row.case_ref, row.updated_at = case_ref or row.case_ref, _now()
        return True


def finish(item_id: str, holder: str, *, state: ItemState, outcome: str | None,
           result: dict[str, Any] | None, case_ref: str | None) -> bool:
    """The handler returned: ``done`` (or ``manual`` when it left the case to a person)."""
    with transaction() as session:
        row = _held(session, item_id, holder)
        if row is None:
            return False
        now = _now()
        row.state, row.outcome, row.result = state.value, outcome, result
        row.case_ref = case_ref or row.case_ref
        row.lease_holder, row.lease_expires_at, row.finished_at, row.updated_at = (
            None, None, now, now)
        row.last_error = None
        return True


def fail(item_id: str, holder: str, *, error: str, retry_seconds: float,
         case_ref: str | None, department: str | None = None,
         flow_run_id: str | None = None) -> ItemState | None:
    """An attempt failed: try again after a growing wait, or — attempts used up — hand the item
    to a person with a task in the inbox. Returns the item's new state (None: lease lost)."""
    with transaction() as session:
        row = _held(session, item_id, holder)
        if row is None:
            return None
        now = _now()
        row.attempts += 1
        row.last_error = mask_cpr(error)[:500]
        row.case_ref = case_ref or row.case_ref
        row.lease_holder, row.lease_expires_at, row.updated_at = None, None, now
        if row.attempts < row.max_attempts:
            row.state = ItemState.FAILED.value
            row.not_before = now + timedelta(seconds=retry_seconds * 2 ** (row.attempts - 1))
        else:
            row.state, row.finished_at = ItemState.MANUAL.value, now
            row.parked_task_id = _hand_to_person(session, row, department, flow_run_id)
        audit.append(session, actor=f"robot:{row.flow}", action=f"item.{row.state}",
                     flow=row.flow, case_ref=row.case_ref,
                     details={"item_id": row.id, "attempts": row.attempts,
                              "error": error.split(":", 1)[0][:100]})  # the kind only
        return ItemState(row.state)


def _hand_to_person(session: Session, row: WorkItem, department: str | None,
                    flow_run_id: str | None) -> str:
    """A task in the inbox for an item the robot could not finish: never dropped silently.
    Approving it lets the robot try again; rejecting it keeps the case with the person."""
    from casework.signoff.tasks import create_signoff_task

    ledger_id = str(uuid.uuid4())  # each hand-over is its own task and ledger row
    case_ref = row.case_ref or _item_ref(row.id)
    now = _now()
    reason = "robot could not finish"  # a fixed key: the inbox shows it in the reader's language
    ledger.record_step(session, StepRecord(
        id=ledger_id, flow=row.flow, flow_run_id=flow_run_id or "no-flow-run",
        step=HANDLE_BY_HAND, step_kind="preparatory", case_ref=case_ref,
        policy_hash="-", mode=Mode.MANUAL, outcome=Outcome.AWAITING_SIGNOFF, robot_seconds=0.0,
        baseline_minutes=0.0, department=department, reasons=[reason], started_at=now,
        finished_at=now))
    session.flush()
    task = create_signoff_task(
        session, ledger_entry_id=ledger_id, flow=row.flow,
        flow_run_id=flow_run_id or "no-flow-run", step=HANDLE_BY_HAND, case_ref=case_ref,
        department=department, roles=["caseworker"], departments=[], suggestion={
            "error": row.last_error, "attempts": row.attempts, "item": row.id},
        reasons=[reason], case_summary=None, deadline_hours=None, policy_hash="-",
        now=now)
    task.payload = {**(task.payload or {}), "work_item_id": row.id}
    return task.id


def _item_ref(item_id: str) -> str:
    """A case pseudonym for an item that never got one (it failed before its case was known)."""
    from casework.privacy import pseudonymise

    return pseudonymise(f"item:{item_id}")


def defer(item_id: str, holder: str, *, seconds: float, reason: str) -> bool:
    """Put an item back untouched, to be taken again after ``seconds`` (a held flow)."""
    with transaction() as session:
        row = _held(session, item_id, holder)
        if row is None:
            return False
        row.state = (ItemState.READY if row.parked_task_id else ItemState.NEW).value
        row.not_before = _now() + timedelta(seconds=seconds)
        row.lease_holder, row.lease_expires_at, row.updated_at = None, None, _now()
        row.last_error = reason[:500]
        return True


def retry(item_id: str, *, by: str) -> ItemState:
    """An automation admin sends a failed or handed-over item back to the robot."""
    with transaction() as session:
        row = session.get(WorkItem, item_id)
        if row is None:
            raise LookupError(f"no work item {item_id}")
        if row.state not in (ItemState.FAILED.value, ItemState.MANUAL.value):
            raise ValueError(f"work item {item_id} is {row.state}; only failed or manual items "
                             "can be retried")
        row.state, row.attempts, row.not_before = ItemState.READY.value, 0, None
        row.finished_at, row.updated_at = None, _now()
        _close_hand_over(session, row.parked_task_id, by)
        row.parked_task_id = None
        audit.append(session, actor=by, action="item.retried", flow=row.flow,
                     case_ref=row.case_ref, details={"item_id": row.id})
        return ItemState(row.state)


def _close_hand_over(session: Session, task_id: str | None, by: str) -> None:
    """An admin sent the item back to the robot: its open hand-over task is settled as that
    ("let the robot try again"), so nobody does the finished work by hand later."""
    if task_id is None:
        return
    task = session.get(SignoffTask, task_id, with_for_update=True)
    if task is None or task.step != HANDLE_BY_HAND or task.decision is not None:
        return
    now = _now()
    task.status, task.decision, task.decided_by, task.decided_at = "decided", "approved", by, now
    task.decision_reason = "sent back to the robot (casework items retry)"
    task.version += 1
    ledger.record_decision(session, task.ledger_entry_id, Outcome.APPROVED, 0.0, now)


# -------------------------------------------------------------------------------- reading


class ItemView(BaseModel):
    """A work item as automation teams see it (no payload: it may hold personal data)."""

    id: str
    flow: str
    state: str
    case_ref: str | None
    outcome: str | None
    attempts: int
    max_attempts: int
    last_error: str | None
    parked_task_id: str | None
    lease_holder: str | None
    lease_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, row: WorkItem) -> ItemView:
        return cls.model_validate(row, from_attributes=True)


def list_items(*, flow: str | None = None, state: str | None = None,
               limit: int = 100) -> list[ItemView]:
    with reading() as session:
        query = select(WorkItem).order_by(WorkItem.created_at.desc(), WorkItem.id).limit(limit)
        if flow:
            query = query.where(WorkItem.flow == flow)
        if state:
            query = query.where(WorkItem.state == state)
        return [ItemView.of(r) for r in session.scalars(query)]


def get_item(item_id: str) -> ItemView:
    with reading() as session:
        row = session.get(WorkItem, item_id)
        if row is None:
            raise LookupError(f"no work item {item_id}")
        return ItemView.of(row)
