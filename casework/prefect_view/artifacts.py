"""Prefect artifacts: each flow run shows its measured savings in the Prefect UI.

One table artifact per flow run, updated in place: a run that is suspended and resumed, or
retried, runs this again and rewrites its own artifact instead of adding another card. A run
that did nothing (no step ran, no item taken: an idle schedule) gets none. Only pseudonymised
figures go here: step names and numbers, never case content.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from uuid import UUID

from casework import ledger
from casework.db.session import reading
from casework.prefect_view.run_view import counts_text, item_counts
from casework.settings import get_settings

log = logging.getLogger(__name__)

TOTAL = "Total"


def savings_table(flow_run_id: str) -> list[dict[str, object]]:
    """Per step: runs by route, human and saved minutes, saved hours; a totals row last (none
    when nothing was recorded). Robot time is in the ledger and the report."""
    with reading() as session:
        rows = ledger.step_savings(session, flow_run_id=flow_run_id)
    # Few, short columns: Prefect's table cuts off what does not fit its width.
    table: list[dict[str, object]] = [
        {"step": r.step, "runs": r.runs, "auto": r.autonomous, "sign-off": r.signoff,
         "manual": r.manual, "failed": r.failed,
         "human min": round(r.human_seconds / 60, 1),
         "saved min": round(r.saved_minutes, 1), "saved h": round(r.saved_minutes / 60, 2)}
        for r in rows
    ]
    if table:
        table.append({
            "step": TOTAL,
            **{k: sum(int(row[k]) for row in table)  # type: ignore[call-overload]
               for k in ("runs", "auto", "sign-off", "manual", "failed")},
            "human min": round(sum(r.human_seconds for r in rows) / 60, 1),
            "saved min": round(sum(r.saved_minutes for r in rows), 1),
            "saved h": round(sum(r.saved_minutes for r in rows) / 60, 2),
        })
    return table


def describe(table: list[dict[str, object]], counts: dict[str, int] | None) -> str:
    """The artifact's description (markdown): the total, the items, how it is measured, and
    where the full report is."""
    total = next((row for row in table if row["step"] == TOTAL), None)
    minutes = float(total["saved min"]) if total else 0.0  # type: ignore[arg-type]
    parts = [f"**Saved in this run: {minutes:.1f} minutes ({minutes / 60:.2f} hours).**"]
    if counts:
        parts.append(f"Work items: {counts_text(counts)}.")
    parts.append("Baseline per step from the policy, minus measured human time; failed and "
                 "manual steps count 0. Steps decided by a caseworker after this run ended are "
                 "counted when the decision is made.")
    report = f"{get_settings().inbox_url.rstrip('/')}/reports"
    parts.append(f"[Savings report for all runs]({report})")
    return "\n\n".join(parts)


def publish_run_savings(flow: str, flow_run_id: str, returned: Any = None) -> None:
    """Create or update this run's savings artifact. Best effort: a failing upload must never
    fail the casework itself."""
    if flow_run_id == "no-flow-run":
        return
    try:
        table = savings_table(flow_run_id)
        counts = item_counts(returned)
        if not table and not any((counts or {}).values()):
            return  # an idle run: no card
        _upsert(flow_run_id, f"savings-{flow.replace('_', '-')}", table,
                describe(table, counts))
    except Exception:  # noqa: BLE001 - reported, never raised
        log.warning("could not publish the savings artifact for flow run %s", flow_run_id,
                    exc_info=True)


def _upsert(flow_run_id: str, key: str, table: list[dict[str, object]],
            description: str) -> None:
    from prefect.artifacts import create_table_artifact
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import ArtifactUpdate
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    with get_client(sync_client=True) as client:
        existing = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(flow_run_id)]),
            key=ArtifactFilterKey(any_=[key])), limit=1)
        if existing:
            client.update_artifact(existing[0].id, ArtifactUpdate(
                data=json.dumps(table), description=description))
            return
    create_table_artifact(key=key, table=table, description=description,
                          _sync=True)  # type: ignore[call-arg]  # also under an event loop
