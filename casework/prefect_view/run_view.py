"""How a flow run looks in Prefect's UI: its name and the state it ends in.

A run is named by its robot and what it works on (``journal-placement-items-12-0815``: twelve
work items, started 08:15; ``intake-batch-0815`` while the queue's size is not yet known, renamed
when the run knows how many items it took). A run whose items failed or went to a person ends in
"Completed with failed items", and one that left items with caseworkers in "Completed with items
awaiting sign-off", so neither looks like a run that simply finished.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)

FAILED_ITEMS = "Completed with failed items"
AWAITING_ITEMS = "Completed with items awaiting sign-off"


def run_name(robot: str) -> str:
    """The flow run's name from its parameters (``flow_run_name`` callable; Prefect calls it
    inside the run)."""
    from prefect.runtime import flow_run

    slug = robot.replace("_", "-")
    stamp = datetime.now().strftime("%H%M")
    try:
        item_ids = (flow_run.parameters or {}).get("item_ids")
    except Exception:  # noqa: BLE001 - a name is a courtesy
        item_ids = None
    if item_ids:
        return f"{slug}-items-{len(item_ids)}-{stamp}"
    return f"{slug}-batch-{stamp}"


def item_counts(report: Any) -> dict[str, int] | None:
    """State -> count of an ``ItemsReport``; None for a flow that does not process items."""
    counts = getattr(report, "counts", None)
    return dict(counts) if isinstance(counts, dict) else None


def counts_text(counts: dict[str, int]) -> str:
    return (f"{counts.get('done', 0)} done, {counts.get('awaiting_signoff', 0)} awaiting "
            f"sign-off, {counts.get('failed', 0)} failed, {counts.get('manual', 0)} handed to a "
            f"person, {counts.get('ready', 0)} held")


def end_state(returned: Any) -> Any:
    """The value the flow returns, as a named Completed state when its items need attention."""
    counts = item_counts(returned)
    if not counts:
        return returned
    from prefect.states import Completed

    if counts.get("failed", 0) or counts.get("manual", 0):
        name = FAILED_ITEMS
    elif counts.get("awaiting_signoff", 0):
        name = AWAITING_ITEMS
    else:
        return returned
    return Completed(data=returned, name=name, message=counts_text(counts))


def rename_for_items(robot: str, flow_run_id: str, report: Any) -> None:
    """Name a queue run by the number of items it took, once it knows (best effort)."""
    counts = item_counts(report)
    if not counts or flow_run_id == "no-flow-run":
        return
    try:
        from uuid import UUID

        from prefect.client.orchestration import get_client

        total = sum(counts.values())
        with get_client(sync_client=True) as client:
            run = client.read_flow_run(UUID(flow_run_id))
            if not run.name.startswith(f"{robot.replace('_', '-')}-batch-"):
                return
            stamp = run.name.rsplit("-", 1)[-1]
            name = f"{robot.replace('_', '-')}-items-{total}-{stamp}"
            client.update_flow_run(UUID(flow_run_id), name=name)
    except Exception:  # noqa: BLE001 - a name is a courtesy, never a failure
        log.info("flow run %s not renamed", flow_run_id, exc_info=True)
