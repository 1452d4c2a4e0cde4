"""Delivering stored decisions to Prefect (transactional outbox).

The inbox writes each decision and its outbox row in one transaction; this module resumes the
paused flow run. Wake-ups of runs waiting on a party hearing (``HearingWakeup``) are rows of the
same shape and are delivered the same way. If Prefect is unreachable the row stays pending and
is tried again later, so a caseworker is never asked twice. Several deliverers may run: rows are
claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite serialises writers anyway).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from uuid import UUID

import httpx
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError
from prefect.flow_runs import resume_flow_run
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import object_session
from tenacity import (
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from casework.db.models import DecisionOutbox, HearingWakeup
from casework.db.session import transaction

log = logging.getLogger(__name__)


class DeliveryReport(BaseModel):
    delivered: int = 0
    pending: int = 0
    not_waiting: int = 0  # the flow run finished without waiting; the decision stays recorded
    failed: int = 0


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, httpx.TransportError):
        return True
    return isinstance(exc, PrefectHTTPStatusError) and exc.response.status_code >= 500


@retry(retry=retry_if_exception(_transient), stop=stop_after_attempt(3),
       wait=wait_exponential(multiplier=0.2, max=2), reraise=True)
def _resume(flow_run_id: str, run_input: dict | None) -> None:
    # _sync: without it, a caller inside a running event loop (an async web server, a browser
    # driver) would get an un-awaited coroutine back and the run would never be resumed.
    resume_flow_run(UUID(flow_run_id), run_input=run_input, _sync=True)  # type: ignore[call-arg]


def wake_input(row: DecisionOutbox | HearingWakeup) -> dict | None:
    """What Prefect is handed: a decision's task id only (Prefect keeps run inputs for good; the
    run reads the decision itself from our database). Hearing wake-ups carry nothing."""
    if isinstance(row, DecisionOutbox):
        return {"task_id": row.signoff_task_id}
    return None


def _run_state(flow_run_id: str) -> tuple[str, bool]:
    """(state name, is final) of a flow run."""
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(UUID(flow_run_id))
    state = run.state
    return (state.name if state else "unknown"), bool(state and state.is_final())


def deliver_one(row: DecisionOutbox | HearingWakeup,
                finished: dict[str, str] | None = None,
                ready: dict[str, list[str]] | None = None) -> str:
    """Try to resume the row's flow run; returns the row's new status.

    ``finished`` (flow run id -> final state name) is shared across one pass: a batch run in
    ``record`` mode leaves hundreds of decisions for one finished run, asked about once.
    ``ready`` (flow -> item ids) collects work items the pass made ready: a decision on a task
    a work item is parked at is delivered to the item, not to a flow run.
    """
    row.attempts += 1
    if isinstance(row, DecisionOutbox) and ready is not None:
        from casework.items.continuation import make_ready

        session = object_session(row)
        items = make_ready(session, row.signoff_task_id) if session is not None else []
        if items:  # the decision is for a work item: it is ready, a continuation takes it on
            for flow, item_id in items:
                ready.setdefault(flow, []).append(item_id)
            row.status, row.delivered_at, row.last_error = "delivered", datetime.now(UTC), None
            return row.status
    if finished is not None and row.flow_run_id in finished:
        return _settle_final(row, finished[row.flow_run_id])
    try:
        _resume(row.flow_run_id, wake_input(row))
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row
        row.last_error = f"{type(exc).__name__}: {exc}"[:500]
        if _transient(exc):
            return "pending"  # Prefect unreachable or busy: try again later
        try:
            state, final = _run_state(row.flow_run_id)
        except ObjectNotFound:
            row.status = "failed"
            row.last_error = "flow run no longer exists"
            return row.status
        except Exception:  # noqa: BLE001
            return "pending"
        if final:
            if finished is not None:
                finished[row.flow_run_id] = state
            return _settle_final(row, state)
        return row.status  # not paused yet: the flow reads the decision itself, or we retry
    row.status, row.delivered_at, row.last_error = "delivered", datetime.now(UTC), None
    return row.status


def _settle_final(row: DecisionOutbox | HearingWakeup, state: str) -> str:
    if state == "Completed" or state.startswith("Completed "):  # also a named Completed state
        # The run went on without waiting (CASEWORK_SIGNOFF_WAIT=record): the decision is
        # stored and counted in the ledger; there is nobody to wake.
        row.status, row.last_error = "not_waiting", None
    else:
        row.status = "failed"
        row.last_error = f"flow run ended ({state}) before the decision was delivered"
    return row.status


def deliver_pending(limit: int = 100, *,
                    model: type[DecisionOutbox] | type[HearingWakeup] = DecisionOutbox
                    ) -> DeliveryReport:
    """One pass over pending rows of ``model`` (decisions by default, or hearing wake-ups),
    oldest first; each row in its own transaction."""
    report = DeliveryReport()
    tried: set[str] = set()  # a row left pending is not tried twice in one pass
    finished: dict[str, str] = {}
    ready: dict[str, list[str]] = {}
    for _ in range(limit):
        with transaction() as session:
            query = (
                select(model)
                .where(model.status == "pending")
                .order_by(model.created_at)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if tried:
                query = query.where(model.id.not_in(tried))
            row = session.scalars(query).first()
            if row is None:
                break
            tried.add(row.id)
            status = deliver_one(row, finished, ready)
            _log_delivery(row, status)
        setattr(report, status, getattr(report, status) + 1)
    if ready:
        from casework.items.continuation import start_continuations

        start_continuations(ready)
    return report


def _log_delivery(row: DecisionOutbox | HearingWakeup, status: str) -> None:
    """One line per delivery: which task (or hearing), which flow run, how it went."""
    task = getattr(row, "signoff_task_id", None) or f"hearing {getattr(row, 'hearing_id', '?')}"
    level = logging.DEBUG if status == "pending" else logging.INFO
    log.log(level, "delivery: task %s, run %s, outcome %s%s", task, row.flow_run_id, status,
            f" ({row.last_error})" if row.last_error and status != "delivered" else "")


def run_forever(interval: float = 2.0, *,
                periodic: Sequence[Callable[[], object]] = ()) -> None:  # pragma: no cover
    """The sign-off service loop: escalate overdue tasks and wake runs whose hearing deadline
    passed, then deliver pending decisions and hearing wake-ups (an escalation to ``manual`` is
    delivered in the same pass), and about once a minute hand work items nobody is taking to
    a new run of their flow. ``periodic``: more work for every pass, each throttling itself
    (the CLI passes the inbox's notifications, so the core runtime does not import it)."""
    from casework.rights.hearing import wake_expired_hearings
    from casework.signoff.escalation import escalate_overdue

    while True:
        try:
            escalated = escalate_overdue()
            if escalated.reminded or escalated.reassigned or escalated.manual:
                log.info("overdue sign-offs escalated: %s", escalated.model_dump())
            expired = wake_expired_hearings()
            if expired:
                log.info("hearing deadlines passed: %d", expired)
            report = deliver_pending()
            if report.delivered or report.failed:
                log.info("decisions delivered: %s", report.model_dump())
            woken = deliver_pending(model=HearingWakeup)
            if woken.delivered or woken.failed:
                log.info("hearing wake-ups delivered: %s", woken.model_dump())
            from casework.items.continuation import maybe_sweep

            maybe_sweep()  # work items nobody is taking (retries due, stopped workers)
            for job in periodic:
                job()
        except Exception:  # noqa: BLE001 - a service loop outlives a database hiccup
            log.exception("sign-off service pass failed; trying again")
        time.sleep(interval)
