"""The queue's edges: every hand-over is its own task and a decided row is never rewritten;
an item that keeps stopping its worker goes to a person; a lost lease stops the acts; the
sweep finds items nobody is taking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from casework.db.models import LedgerEntry, SignoffTask, WorkItem
from casework.db.session import reading, transaction
from casework.items import queue
from casework.items.queue import HANDLE_BY_HAND, NewItem
from casework.items.states import ItemState

pytestmark = pytest.mark.usefixtures("db_engine")


def one_item(flow: str = "edge", max_attempts: int = 1) -> str:
    return queue.add(flow, [NewItem(key="message:x", payload={"a": 1})],
                     max_attempts=max_attempts).ids[0]


def approve(task_id: str) -> None:
    from casework import ledger
    from casework.ledger import Outcome

    with transaction() as s:
        task = s.get(SignoffTask, task_id)
        task.status, task.decision, task.decided_by = "decided", "approved", "anna"
        task.decided_at = datetime.now(UTC)
        ledger.record_decision(s, task.ledger_entry_id, Outcome.APPROVED, 42.0)


def test_each_hand_over_is_its_own_task_and_a_decided_row_stands() -> None:
    item_id = one_item()
    queue.claim("edge", "w", limit=1, lease_seconds=60)
    assert queue.fail(item_id, "w", error="Boom: x", retry_seconds=0, case_ref=None) == "manual"
    first = queue.get_item(item_id).parked_task_id
    approve(first)  # "let the robot try again"
    [claimed] = queue.claim("edge", "w", limit=1, lease_seconds=60)
    assert claimed.id == item_id and claimed.attempts == 0
    assert queue.fail(item_id, "w", error="Boom: y", retry_seconds=0, case_ref=None) == "manual"
    second = queue.get_item(item_id).parked_task_id
    assert second and second != first
    with reading() as s:
        tasks = s.scalars(select(SignoffTask).where(SignoffTask.step == HANDLE_BY_HAND)).all()
        decided = s.get(LedgerEntry, s.get(SignoffTask, first).ledger_entry_id)
    assert len(tasks) == 2 and decided.outcome == "approved" and decided.human_seconds == 42.0
    assert queue.claim("edge", "w", limit=1, lease_seconds=60) == []  # waits for a person


def test_admin_retry_settles_the_open_hand_over() -> None:
    item_id = one_item()
    queue.claim("edge", "w", limit=1, lease_seconds=60)
    queue.fail(item_id, "w", error="Boom", retry_seconds=0, case_ref=None)
    task_id = queue.get_item(item_id).parked_task_id
    assert queue.retry(item_id, by="ops") == ItemState.READY
    with reading() as s:
        task = s.get(SignoffTask, task_id)
    assert (task.status, task.decision, task.decided_by) == ("decided", "approved", "ops")
    assert queue.get_item(item_id).parked_task_id is None


def test_an_item_that_keeps_stopping_its_worker_goes_to_a_person() -> None:
    item_id = one_item(max_attempts=2)
    t0 = datetime.now(UTC)
    [first] = queue.claim("edge", "w1", limit=1, lease_seconds=5, now=t0)  # w1 dies
    assert queue.claim("edge", "w2", limit=1, lease_seconds=5, now=t0) == []  # still leased
    [second] = queue.claim("edge", "w2", limit=1, lease_seconds=5,
                           now=t0 + timedelta(seconds=10))  # w2 takes it over, and dies too
    assert first.id == second.id == item_id and queue.get_item(item_id).attempts == 1
    assert queue.claim("edge", "w3", limit=1, lease_seconds=5,
                       now=t0 + timedelta(seconds=20)) == []
    item = queue.get_item(item_id)
    assert item.state == "manual" and item.parked_task_id and item.attempts == 2
    assert "lease ran out" in (item.last_error or "")


def test_renew_names_the_items_still_held() -> None:
    a, b = queue.add("edge", [NewItem(key="message:a", payload={}),
                              NewItem(key="message:b", payload={})]).ids
    queue.claim("edge", "w", limit=2, lease_seconds=60)
    with transaction() as s:  # b was taken over by another worker
        s.get(WorkItem, b).lease_holder = "other"
    assert queue.renew("w", [a, b], 60) == {a}


def test_sweep_finds_items_nobody_is_taking(monkeypatch: pytest.MonkeyPatch) -> None:
    from casework.items import continuation

    started: dict[str, list[str]] = {}
    monkeypatch.setattr(continuation, "start_continuations",
                        lambda due: started.update(due) or {})
    ready, fresh = queue.add("edge", [NewItem(key="message:r", payload={}),
                                      NewItem(key="message:n", payload={})]).ids
    old = datetime.now(UTC) - timedelta(minutes=10)
    with transaction() as s:
        row = s.get(WorkItem, ready)
        row.state, row.updated_at = "ready", old
    assert continuation.sweep_due() == {"edge": 1} and started == {"edge": [ready]}
