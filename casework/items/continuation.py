"""A decision reaches its work item: the parked item becomes ready, and the flow's deployment
(if there is one) is asked to run the ready items now, instead of at its next schedule.

Called by the sign-off service (``casework.signoff.outbox``) for each decision on a task an item
is parked at. Starting the run is a courtesy: without a deployment — a local run, a test — the
item simply waits, ready, for the next run of its flow, which takes it first.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.db.models import WorkItem
from casework.items.queue import promote_decided

log = logging.getLogger(__name__)

CONTINUATION_TAG = "casework-continuation"


def items_for_task(session: Session, task_id: str) -> list[WorkItem]:
    return list(session.scalars(select(WorkItem).where(WorkItem.parked_task_id == task_id)))


def make_ready(session: Session, task_id: str) -> list[tuple[str, str]]:
    """Promote the items parked at ``task_id``; returns their (flow, item id)."""
    parked = items_for_task(session, task_id)
    if not parked:
        return []
    for flow in {item.flow for item in parked}:
        promote_decided(session, flow)
    return [(item.flow, item.id) for item in parked]


def start_continuations(ready: dict[str, Sequence[str]]) -> dict[str, str | None]:
    """One deployment run per flow for its ready items; flow -> started run id (None: no
    deployment found, or Prefect unreachable: the next scheduled run takes the items)."""
    started: dict[str, str | None] = {}
    for flow, item_ids in ready.items():
        try:
            started[flow] = _run_deployment(flow, list(item_ids))
        except Exception as exc:  # noqa: BLE001 - the items are ready either way
            log.warning("continuation of %s not started (%s); the next run takes its %d "
                        "ready item(s)", flow, type(exc).__name__, len(item_ids))
            started[flow] = None
    return started


def _run_deployment(flow: str, item_ids: list[str]) -> str | None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    from prefect.deployments import run_deployment

    prefect_name = flow.replace("_", "-")
    with get_client(sync_client=True) as client:
        deployments = client.read_deployments(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[prefect_name])))
    if not deployments:
        return None
    chosen = next((d for d in deployments if CONTINUATION_TAG in (d.tags or [])),
                  deployments[0])
    run = run_deployment(name=f"{prefect_name}/{chosen.name}",
                         parameters={"item_ids": item_ids}, timeout=0,
                         tags=["casework", "continuation"], _sync=True)  # type: ignore[call-arg]
    log.info("continuation of %s started for %d item(s): flow run %s", flow, len(item_ids),
             run.id)
    return str(run.id)


SWEEP_EVERY = 60.0  # seconds between sweeps of one service process
_last_sweep = 0.0


def sweep_due(now: datetime | None = None, *, min_age: float = 60.0) -> dict[str, int]:
    """Start a run for each flow with items nobody is taking: ready ones whose continuation
    did not start, failed ones due for a retry, leases of a worker that stopped. Returns flow ->
    items handed to a run. Called by the sign-off service at most every ``SWEEP_EVERY``."""
    from sqlalchemy import and_, or_

    from casework.db.session import reading
    from casework.items.states import ItemState

    now = now or datetime.now(UTC)
    quiet = now - timedelta(seconds=min_age)
    w = WorkItem
    with reading() as session:
        rows = session.execute(select(w.flow, w.id).where(w.updated_at < quiet, or_(
            w.state == ItemState.READY.value,
            and_(w.state == ItemState.FAILED.value, w.not_before <= now),
            and_(w.state == ItemState.IN_PROGRESS.value, w.lease_expires_at < now),
        )).limit(5000)).all()
    due: dict[str, list[str]] = {}
    for flow, item_id in rows:
        due.setdefault(flow, []).append(item_id)
    if due:
        start_continuations(due)
    return {flow: len(ids) for flow, ids in due.items()}


def maybe_sweep() -> None:
    global _last_sweep
    if time.monotonic() - _last_sweep < SWEEP_EVERY:
        return
    _last_sweep = time.monotonic()
    swept = sweep_due()
    if swept:
        log.info("work items nobody was taking, handed to new runs: %s", swept)
