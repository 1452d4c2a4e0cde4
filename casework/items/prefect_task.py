"""Each work item as one Prefect task run: named by flow and item, ending in a state that says
how the item ended, so the run's graph shows parked and failed items at a glance. The only
place the items package speaks to Prefect."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect import task
from prefect.states import Completed

from casework.items.states import ItemState

_STATE_NAMES = {
    ItemState.DONE: "Done",
    ItemState.AWAITING_SIGNOFF: "Awaiting sign-off",
    ItemState.READY: "Held",
    ItemState.FAILED: "Failed attempt",
    ItemState.MANUAL: "Handed to a person",
}


@task(name="work-item", persist_result=False, cache_policy=None)
def _work_item(settle: Callable[[], Any]) -> Any:
    row = settle()
    return Completed(data=row, name=_STATE_NAMES.get(row.state, "Completed"),
                     message=_message(row))


def _message(row: Any) -> str:
    """What the state says beside its name: the item's outcome when it adds something, and
    the sign-off task it waits for (the id the inbox and ``casework tasks show`` use)."""
    parts = [row.state.value]
    if row.outcome and row.outcome != row.state.value:
        parts.append(row.outcome)
    if row.signoff_task_id:
        parts.append(f"sign-off task {row.signoff_task_id}")
    return "; ".join(parts)


def as_task_run(flow: str, claimed: Any, settle: Callable[[], Any]) -> Any:
    name = f"{flow}-item-{claimed.id[:8]}"
    # Tagged like the deployments (``casework``), so automations and filters find item runs.
    state = _work_item.with_options(task_run_name=name, tags={"casework", "work-item", flow})(
        settle, return_state=True)
    return state.result()
