"""What an automation team sees of a run in Prefect: its name, a named end state when items
failed or wait for a person, one savings artifact updated in place (none for an idle run), and
masked, forwarded log lines. A real Prefect API and SQLite."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterName,
    LogFilter,
    LogFilterFlowRunId,
    TaskRunFilter,
)
from prefect.logging.handlers import APILogWorker
from test_work_items import Letter, add_letters, make_robot

from casework.case import Case
from casework.prefect_view.artifacts import publish_run_savings
from casework.prefect_view.run_view import AWAITING_ITEMS, FAILED_ITEMS
from casework.privacy import pseudonymise
from casework.runtime import CaseworkFlow

pytestmark = pytest.mark.usefixtures("prefect_api", "db_engine")


def _runs(robot_name: str):  # type: ignore[no-untyped-def]
    slug = robot_name.replace("_", "-")
    with get_client(sync_client=True) as client:
        return [r for r in client.read_flow_runs() if r.name.startswith(slug)]


def _artifacts(flow_run_id: UUID):  # type: ignore[no-untyped-def]
    with get_client(sync_client=True) as client:
        return client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))


def test_a_run_with_failed_and_parked_items_is_named_and_ends_in_a_named_state(
        tmp_path: Path) -> None:
    robot, run, _ = make_robot(tmp_path, [])
    add_letters(robot, [Letter(case_id="SAG-2026-0101", text="ok"),
                        Letter(case_id="SAG-2026-0102", text="unsure", confidence=0.2),
                        Letter(case_id="SAG-2026-0103", text="boom", explode=True)])
    state = run(return_state=True)
    assert state.name == FAILED_ITEMS and state.is_completed()
    assert "1 done, 1 awaiting sign-off, 1 failed" in state.message
    report = state.result()
    assert report.count("done") == 1  # the caller still gets the report

    (flow_run,) = _runs(robot.name)
    slug = robot.name.replace("_", "-")
    assert flow_run.name.startswith(f"{slug}-items-3-")  # renamed once it knew its items

    (artifact,) = _artifacts(flow_run.id)
    table = json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data
    total = table[-1]
    assert total["step"] == "Total" and total["runs"] == sum(r["runs"] for r in table[:-1])
    assert {"saved min", "saved h"} <= set(total)
    assert "1 failed" in artifact.description and "/reports" in artifact.description

    # Publishing again (a resumed or retried run) rewrites the same card.
    publish_run_savings(robot.name, str(flow_run.id), report)
    assert [a.id for a in _artifacts(flow_run.id)] == [artifact.id]

    # The item's failure reached Prefect's log with the case pseudonymised, never the number.
    APILogWorker.drain_all()
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(
            flow_run_id=LogFilterFlowRunId(any_=[flow_run.id])))
    text = "\n".join(entry.message for entry in logs)
    assert "SAG-2026-01" not in text
    assert "mode signoff, outcome awaiting_signoff" in text  # per-step line, forwarded
    assert "sign-off task" in text and pseudonymise("SAG-2026-0102") in text

    # The parked item's task run names the sign-off task it waits for, once.
    with get_client(sync_client=True) as client:
        task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(
            id=FlowRunFilterId(any_=[flow_run.id])))
    [parked] = [t for t in task_runs if t.state and t.state.name == "Awaiting sign-off"]
    assert parked.state.message.startswith("awaiting_signoff; sign-off task ")
    assert {"casework", "work-item", robot.name} <= set(parked.tags)


def test_parked_items_only_and_an_idle_run(tmp_path: Path) -> None:
    robot, run, _ = make_robot(tmp_path, [])
    add_letters(robot, [Letter(case_id="SAG-2026-0201", text="unsure", confidence=0.2)])
    assert run(return_state=True).name == AWAITING_ITEMS
    idle = run(return_state=True)  # nothing left to take: a plain Completed, no artifact
    assert idle.name == "Completed"
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            name=FlowRunFilterName(like_=robot.name.replace("_", "-"))))
    assert len(runs) == 2
    artifact_counts = sorted(len(_artifacts(r.id)) for r in runs)
    assert artifact_counts == [0, 1]
    assert {r.name.split("-")[-2] for r in runs} == {"1", "batch"}  # items-1-HHMM, batch-HHMM


def test_masking_filter_masks_prefect_tracebacks() -> None:
    from casework.prefect_view.run_logging import PersonalDataFilter

    try:
        raise RuntimeError("GET /cases/SAG-9999-0999/documents for 120379-1234 failed")
    except RuntimeError as exc:
        record = logging.LogRecord("prefect.flow_runs", logging.ERROR, __file__, 1,
                                   "Encountered exception: %r", (exc,), exc_info=True)
        record.exc_info = (type(exc), exc, exc.__traceback__)
    PersonalDataFilter().filter(record)
    formatted = logging.Formatter().format(record)
    assert "SAG-9999-0999" not in formatted and "120379-1234" not in formatted
    assert pseudonymise("SAG-9999-0999") in formatted


def test_a_failing_step_outside_items_reaches_prefect_without_the_case_number(
        tmp_path: Path) -> None:
    """A one-case flow whose step fails: the task run's and flow run's state messages (which
    Prefect keeps) name the case by pseudonym."""
    name = f"f_{uuid4().hex[:8]}"
    policy = tmp_path / f"{name}.yaml"
    policy.write_text(f"flow: {name}\nsteps:\n  fetch:\n    kind: preparatory\n"
                      "    mode: autonomous\n    manual_minutes: 1\n")
    robot = CaseworkFlow(name, policy_file=policy)

    @robot.step(kind="preparatory")
    def fetch(case: Case) -> str:
        raise RuntimeError(f"GET /cases/{case.id}/documents -> 404")

    @robot.flow()
    def one_case(case_id: str) -> str:
        return fetch(Case(id=case_id)).result

    state = one_case("SAG-2026-0301", return_state=True)
    assert state.is_failed()
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
        tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(
            id=FlowRunFilterId(any_=[run.id])), task_run_filter=TaskRunFilter())
    messages = [run.state.message] + [t.state.message for t in tasks]
    assert all("SAG-2026-0301" not in (m or "") for m in messages), messages
    assert any(pseudonymise("SAG-2026-0301") in (m or "") for m in messages), messages
