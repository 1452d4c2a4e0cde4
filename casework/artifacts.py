"""Prefect artifacts: each flow run shows its measured savings in the Prefect UI.

Only pseudonymised figures go here: step names and numbers, never case content.
"""

from __future__ import annotations

import logging

from prefect.artifacts import create_table_artifact

from casework import ledger
from casework.db.session import reading

log = logging.getLogger(__name__)


def savings_table(flow_run_id: str) -> list[dict[str, object]]:
    with reading() as session:
        rows = ledger.step_savings(session, flow_run_id=flow_run_id)
    return [
        {
            "step": r.step, "runs": r.runs, "autonomous": r.autonomous, "sign-off": r.signoff,
            "manual": r.manual, "failed": r.failed,
            "robot seconds": round(r.robot_seconds, 2),
            "human minutes": round(r.human_seconds / 60, 1),
            "saved minutes": round(r.saved_minutes, 1),
        }
        for r in rows
    ]


def publish_run_savings(flow: str, flow_run_id: str) -> None:
    """Best effort: a failing artifact upload must never fail the casework itself."""
    try:
        table = savings_table(flow_run_id)
        saved = sum(float(row["saved minutes"]) for row in table)  # type: ignore[arg-type]
        create_table_artifact(
            key=f"savings-{flow.replace('_', '-')}",
            table=table,
            description=(
                f"Measured time savings of this run: {saved / 60:.2f} hours "
                "(baseline per step from the policy, minus measured human time; "
                "failed and manual steps count 0)."
            ),
            _sync=True,  # also when the flow drives a browser (an event loop in this thread)
        )
    except Exception:  # noqa: BLE001 - reported, never raised
        log.warning("could not publish the savings artifact for flow run %s", flow_run_id,
                    exc_info=True)
