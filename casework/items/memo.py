"""The work item a thread is processing, and the steps that already finished for it.

The step runtime asks here before running a step: inside an item, the n-th call of a step is
always the same step run (id derived from item, step and n), and if it finished in an earlier
run of the item its stored result is handed back — the step does not run, nothing is counted
again. Outside an item (a plain flow, a test) there is no current item and steps run as before.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.db.models import ItemStep
from casework.db.session import reading


class StoredStep(BaseModel):
    """A finished step of an item, as stored."""

    id: str
    step: str
    call: int
    mode: str
    reasons: list[str]
    result: Any
    signoff_task_id: str | None


@dataclass
class CurrentItem:
    """The item being processed in this context; ``case_ref`` follows the case once known."""

    id: str
    flow: str
    key: str
    flow_run_id: str
    case_ref: str | None = None
    finished: dict[str, StoredStep] = field(default_factory=dict)  # step run id -> step
    calls: Counter[str] = field(default_factory=Counter)
    # Set by the lease heartbeat when another worker took the item over (this one's lease ran
    # out): act steps refuse to run, the worker lets the item go.
    lost: threading.Event = field(default_factory=threading.Event)

    def next_call(self, step: str) -> tuple[str, int]:
        """(step run id, n) of the next call of ``step`` for this item."""
        n = self.calls[step]
        self.calls[step] = n + 1
        return step_run_id(self.id, step, n), n

    def effect_key(self, name: str) -> str:
        """An idempotency key for an effect on an outside system, the same in every run of this
        item: a repeat after a crash finds what the first attempt created."""
        return f"{self.flow}:{uuid.uuid5(uuid.NAMESPACE_URL, self.key).hex[:20]}:{name}"


_current: ContextVar[CurrentItem | None] = ContextVar("casework_current_item", default=None)


def current_item() -> CurrentItem | None:
    return _current.get()


def step_run_id(item_id: str, step: str, call: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"casework:item:{item_id}:{step}:{call}"))


def load_finished(item_id: str) -> dict[str, StoredStep]:
    with reading() as session:
        rows = session.scalars(select(ItemStep).where(ItemStep.work_item_id == item_id))
        return {r.id: StoredStep.model_validate(r, from_attributes=True) for r in rows}


@contextmanager
def processing(item: CurrentItem) -> Iterator[CurrentItem]:
    """Make ``item`` the current item of this context while its handler runs."""
    item.finished = load_finished(item.id)
    token = _current.set(item)
    try:
        yield item
    finally:
        _current.reset(token)


def store_step(session: Session, item: CurrentItem, *, run_id: str, step: str, call: int,
               mode: str, reasons: list[str], result: Any, signoff_task_id: str | None) -> None:
    """Record that ``step`` finished for the item, in the transaction of its ledger row (the
    unique index on item, step and call refuses a second row whatever runs again)."""
    session.add(ItemStep(id=run_id, work_item_id=item.id, step=step, call=call, mode=mode,
                         reasons=reasons, result=result, signoff_task_id=signoff_task_id,
                         finished_at=datetime.now(UTC)))
    item.finished[run_id] = StoredStep(id=run_id, step=step, call=call, mode=mode,
                                       reasons=reasons, result=result,
                                       signoff_task_id=signoff_task_id)


def once(name: str, effect: Any) -> bool:
    """Run ``effect()`` once per work item (a local side effect that is not a governed step,
    such as keeping a labelled example). Outside an item it simply runs. Returns whether it ran
    now. At least once: a crash between the effect and its record runs it again."""
    from casework.db.session import transaction

    item = current_item()
    if item is None:
        effect()
        return True
    run_id, call = item.next_call(f"once:{name}")
    if run_id in item.finished:
        return False
    effect()
    with transaction() as session:
        store_step(session, item, run_id=run_id, step=f"once:{name}", call=call,
                   mode="effect", reasons=[], result=None, signoff_task_id=None)
    return True
