"""The loop a flow run calls: claim items, run the robot's handler for each (several at once),
and settle each item — done, parked at a sign-off, stopped, failed (retried later) or handed to
a person. Items never wait for each other: one parked or failing item leaves the rest going.

Each item's handler runs in its own copy of the context with the item as current item, so its
steps are recorded per item (``casework.items.memo``). In runs of up to
``CASEWORK_ITEM_TASK_RUNS_MAX`` items (``CASEWORK_ITEM_TASK_RUNS=auto``, the default; ``on``,
``off``) each item is one Prefect task run, named by flow and item, whose state says how the
item ended ("Awaiting sign-off", "Done", "Failed attempt"); its steps are plain governed calls.
Bigger batches skip the per-item task runs: each costs the Prefect server more than a step.
"""

from __future__ import annotations

import contextvars
import inspect
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from casework.items import queue
from casework.items.memo import CurrentItem, processing
from casework.items.states import ItemState
from casework.ledger import Outcome
from casework.settings import get_settings

if TYPE_CHECKING:
    from casework.runtime import CaseworkFlow

log = logging.getLogger(__name__)

DEFER_SECONDS = 60.0  # an act held by the stop switch is tried again after this


class ItemRow(BaseModel):
    """How one item ended in this run (no personal data: ids, pseudonyms, outcomes)."""

    item_id: str
    case_ref: str | None
    state: ItemState
    outcome: str | None = None
    signoff_task_id: str | None = None
    result: dict[str, Any] | None = None
    error: str | None = None


class ItemsReport(BaseModel):
    """What a flow run did with its items."""

    flow: str
    rows: list[ItemRow]

    def count(self, state: ItemState | str) -> int:
        return sum(1 for r in self.rows if r.state == state)

    @property
    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for row in self.rows:
            found[row.state.value] = found.get(row.state.value, 0) + 1
        return found


def concurrency_for(flow: str, default: int | None) -> int:
    settings = get_settings()
    return settings.flow_concurrency.get(flow) or default or settings.max_concurrency


def process_items(robot: CaseworkFlow, handler: Callable[..., Any], *, flow_run_id: str,
                  item_ids: Sequence[str] | None = None, limit: int | None = None,
                  max_concurrency: int | None = None) -> ItemsReport:
    """Process the flow's claimable items (or only ``item_ids``), at most ``limit`` of them."""
    settings = get_settings()
    workers = concurrency_for(robot.name, max_concurrency)
    lease = settings.item_lease_seconds
    holder = queue.worker_name(flow_run_id)
    token = str(uuid.uuid4())
    payload_type = _payload_type(handler)
    task_runs = _task_runs(robot.name, item_ids, limit, flow_run_id)
    rows: list[ItemRow] = []
    in_flight: dict[str, threading.Event] = {}  # item id -> set when its lease is lost
    lock = threading.Lock()
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(lease / 3):
            with lock:
                asked = list(in_flight)
            try:
                held = queue.renew(holder, asked, lease)
            except Exception:  # noqa: BLE001 - a missed renewal is retried; the lease is long
                log.warning("work items: lease renewal failed; will try again", exc_info=True)
                continue
            with lock:
                for item_id in set(asked) - held:
                    if item_id in in_flight:
                        in_flight[item_id].set()

    def one(claimed: queue.Claimed) -> ItemRow:
        try:
            return _run_one(robot, handler, payload_type, claimed, holder, flow_run_id,
                            in_flight[claimed.id], task_runs)
        except Exception as exc:  # noqa: BLE001 - one item's database trouble ends no run
            log.warning("work item %s of %s could not be settled (%s); its lease runs out and "
                        "a later run takes it", claimed.id, robot.name, type(exc).__name__)
            return ItemRow(item_id=claimed.id, case_ref=claimed.case_ref,
                           state=ItemState.IN_PROGRESS, outcome="unsettled",
                           error=type(exc).__name__)
        finally:
            with lock:
                in_flight.pop(claimed.id, None)

    beat = threading.Thread(target=heartbeat, name=f"lease-{robot.name}", daemon=True)
    beat.start()
    try:
        with ThreadPoolExecutor(max_workers=workers,
                                thread_name_prefix=f"item-{robot.name}") as pool:
            while limit is None or len(rows) < limit:
                want = workers * 4 if limit is None else min(workers * 4, limit - len(rows))
                batch = queue.claim(robot.name, holder, limit=want, lease_seconds=lease,
                                    item_ids=item_ids, flow_run_id=flow_run_id, token=token)
                if not batch:
                    break
                with lock:
                    in_flight.update((c.id, threading.Event()) for c in batch)
                futures = [pool.submit(contextvars.copy_context().run, one, c) for c in batch]
                rows.extend(f.result() for f in futures)
    finally:
        stop.set()
        beat.join(timeout=5)
    return ItemsReport(flow=robot.name, rows=rows)


def _run_one(robot: CaseworkFlow, handler: Callable[..., Any], payload_type: type | None,
             claimed: queue.Claimed, holder: str, flow_run_id: str,
             lost: threading.Event, task_runs: bool) -> ItemRow:
    def settle() -> ItemRow:
        row = _settle(robot, handler, payload_type, claimed, holder, flow_run_id, lost)
        _log_item(robot.name, row)
        return row

    if task_runs:
        from casework.items.prefect_task import as_task_run

        return as_task_run(robot.name, claimed, settle)
    return settle()


def _task_runs(flow: str, item_ids: Sequence[str] | None, limit: int | None,
               flow_run_id: str) -> bool:
    """Whether this run shows each item as a Prefect task run (``CASEWORK_ITEM_TASK_RUNS``)."""
    mode = get_settings().item_task_runs
    if flow_run_id == "no-flow-run" or mode == "off":
        return False
    if mode == "on":
        return True
    most = get_settings().item_task_runs_max
    if item_ids is not None and len(item_ids) <= most:
        return True
    count = queue.claimable_count(flow, item_ids=item_ids)
    return min(count, limit if limit is not None else count) <= most


def _log_item(flow: str, row: ItemRow) -> None:
    """One line per item for the run's log (ids, pseudonym, outcome; never the payload)."""
    log.info("item %s of %s, case %s: %s (%s)%s%s", row.item_id[:8], flow,
             row.case_ref or "-", row.state.value, row.outcome or "-",
             f", sign-off task {row.signoff_task_id}" if row.signoff_task_id else "",
             f", error {row.error}" if row.error else "")


def _settle(robot: CaseworkFlow, handler: Callable[..., Any], payload_type: type | None,
            claimed: queue.Claimed, holder: str, flow_run_id: str,
            lost: threading.Event) -> ItemRow:
    """Run the handler for one item and record how it ended."""
    from casework.runtime import ItemDeferred, ItemLeaseLost, ItemParked, ItemStopped

    item = CurrentItem(id=claimed.id, flow=claimed.flow, key=claimed.key,
                       flow_run_id=flow_run_id, case_ref=claimed.case_ref, lost=lost)
    row = ItemRow(item_id=claimed.id, case_ref=claimed.case_ref, state=ItemState.IN_PROGRESS)
    try:
        with processing(item):
            payload = _payload(payload_type, claimed.payload)
            returned = handler(payload)
    except ItemParked as parked:
        queue.park(item.id, holder, task_id=parked.task_id, case_ref=item.case_ref)
        return row.model_copy(update={"case_ref": item.case_ref,
                                      "state": ItemState.AWAITING_SIGNOFF,
                                      "outcome": Outcome.AWAITING_SIGNOFF.value,
                                      "signoff_task_id": parked.task_id})
    except ItemStopped as stopped:
        decision = stopped.decision
        state = ItemState.MANUAL if decision.status is Outcome.MANUAL else ItemState.DONE
        queue.finish(item.id, holder, state=state, outcome=decision.status.value, result=None,
                     case_ref=item.case_ref)
        return row.model_copy(update={"case_ref": item.case_ref, "state": state,
                                      "outcome": decision.status.value,
                                      "signoff_task_id": decision.signoff_task_id})
    except ItemLeaseLost:
        log.warning("work item %s of %s was taken over by another worker; left to it",
                    item.id, robot.name)
        return row.model_copy(update={"case_ref": item.case_ref, "outcome": "taken over"})
    except ItemDeferred as deferred:
        queue.defer(item.id, holder, seconds=DEFER_SECONDS, reason=str(deferred))
        return row.model_copy(update={"case_ref": item.case_ref, "state": ItemState.READY,
                                      "outcome": "held"})
    except Exception as exc:  # noqa: BLE001 - every failure is kept on the item
        error = _error_text(exc)
        state = queue.fail(item.id, holder, error=error,
                           retry_seconds=get_settings().item_retry_seconds,
                           case_ref=item.case_ref, flow_run_id=flow_run_id,
                           department=robot.default_department())
        log.warning("work item %s of %s (case %s) failed: %s", item.id, robot.name,
                    item.case_ref or "-", type(exc).__name__)
        return row.model_copy(update={"case_ref": item.case_ref,
                                      "state": state or ItemState.FAILED,
                                      "outcome": "failed", "error": type(exc).__name__})
    result = _as_dict(returned)
    outcome = str(result.get("status")) if result and result.get("status") else "done"
    queue.finish(item.id, holder, state=ItemState.DONE, outcome=outcome[:40], result=result,
                 case_ref=item.case_ref)
    return row.model_copy(update={"case_ref": item.case_ref, "state": ItemState.DONE,
                                  "outcome": outcome, "result": result})


def _payload_type(handler: Callable[..., Any]) -> type | None:
    params = list(inspect.signature(handler, eval_str=True).parameters.values())
    if not params:
        raise TypeError(f"item handler {handler.__name__} must take the item's payload")
    annotation = params[0].annotation
    return annotation if isinstance(annotation, type) else None


def _payload(payload_type: type | None, payload: dict[str, Any] | None) -> Any:
    if payload is None:
        raise ValueError("the item's payload was erased (retention); it cannot be processed")
    if payload_type is not None and issubclass(payload_type, BaseModel):
        return payload_type.model_validate(payload)
    return payload


def _as_dict(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return value
    return {"value": str(value)}


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "payload"
        return f"invalid item payload: {where}: {first.get('msg')}"
    return f"{type(exc).__name__}: {exc}"
