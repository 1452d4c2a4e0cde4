"""Retention reaches what Prefect keeps: run inputs of finished runs of our flows and persisted
results on this machine, erased once older than the retention; other flows' runs untouched; an
unreachable Prefect is reported, not fatal. A real Prefect API and SQLite."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL, PREFECT_RESULTS_LOCAL_STORAGE_PATH
from prefect.settings.context import temporary_settings
from typer.testing import CliRunner

from casework.cli import app
from casework.db.session import transaction
from casework.ledger import Mode, Outcome, StepRecord, record_step
from casework.rights.retention_prefect import apply_prefect_retention

pytestmark = pytest.mark.usefixtures("prefect_api", "db_engine")


@flow(name="retention-robot")
def retention_robot() -> int:
    return 1


@flow(name="someone-elses-flow")
def someone_elses_flow() -> int:
    return 2


def _ledger_row_for(flow_name: str) -> None:
    with transaction() as session:
        record_step(session, StepRecord(
            id=f"l-{time.monotonic_ns()}", flow=flow_name, flow_run_id="r", step="s",
            step_kind="preparatory", case_ref="c_" + "0" * 24, policy_hash="h",
            mode=Mode.AUTONOMOUS, outcome=Outcome.COMPLETED, robot_seconds=0.1,
            baseline_minutes=1, started_at=datetime.now(UTC)))


def _inputs(run_id) -> list[str]:  # type: ignore[no-untyped-def]
    with get_client(sync_client=True) as client:
        return sorted(i.key for i in client.filter_flow_run_input(run_id, key_prefix="",
                                                                  limit=100, exclude_keys=set()))


def test_run_inputs_and_old_results_are_erased(tmp_path: Path) -> None:
    _ledger_row_for("retention_robot")
    ours = retention_robot(return_state=True).state_details.flow_run_id
    theirs = someone_elses_flow(return_state=True).state_details.flow_run_id
    with get_client(sync_client=True) as client:
        for run_id in (ours, theirs):
            client.create_flow_run_input(run_id, "suspended-signoff-x-response",
                                         '{"task_id": "x"}')
            client.create_flow_run_input(run_id, "suspended-signoff-x-schema", "{}")
    storage = tmp_path / "storage"
    storage.mkdir()
    old, fresh = storage / "old-result", storage / "fresh-result"
    old.write_text("a result with a name in it")
    fresh.write_text("a result from today")
    later = datetime.now(UTC) + timedelta(days=200)
    os.utime(old, (time.time() - 400 * 86400,) * 2)
    os.utime(fresh, (later.timestamp(),) * 2)

    with temporary_settings({PREFECT_RESULTS_LOCAL_STORAGE_PATH: storage}):
        dry = apply_prefect_retention(days=183, dry_run=True, now=later)
        assert (dry.run_inputs_erased, dry.result_files_erased) == (2, 1)
        assert len(_inputs(ours)) == 2 and old.exists()
        report = apply_prefect_retention(days=183, now=later)
    assert report.reachable and report.flow_runs_checked == 1
    assert (report.run_inputs_erased, report.result_files_erased) == (2, 1)
    assert _inputs(ours) == [] and len(_inputs(theirs)) == 2
    assert not old.exists() and fresh.exists()

    # Within the retention nothing goes.
    with get_client(sync_client=True) as client:
        client.create_flow_run_input(ours, "paused-signoff-y-response", '{"task_id": "y"}')
    assert apply_prefect_retention(days=183).run_inputs_erased == 0
    assert _inputs(ours) == ["paused-signoff-y-response"]


def test_unreachable_prefect_is_reported_and_the_cli_says_what_it_removed() -> None:
    _ledger_row_for("retention_robot")
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        report = apply_prefect_retention(days=183)
        assert not report.reachable and "not reachable" in (report.message or "")
        result = CliRunner().invoke(app, ["retention", "apply"])
    assert result.exit_code == 0, result.output
    assert "persisted result file(s)" in result.output
    assert "Prefect API not reachable" in result.output
