"""A flow run started again after a crash repeats its step calls: the ledger keeps one row per
step and case (savings counted once), the earlier routing stands, and failed steps are done
again. Real Prefect API (the same flow run re-run as `prefect flow-run retry` does), real
SQLite."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest
from prefect.client.orchestration import get_client
from prefect.flow_engine import run_flow
from prefect.states import Scheduled
from pydantic import BaseModel
from sqlalchemy import func, select

from casework.case import Case
from casework.db.models import AuditEvent, LedgerEntry, SignoffTask
from casework.db.session import reading
from casework.runtime import CaseworkFlow, require_signoff

pytestmark = pytest.mark.usefixtures("prefect_api", "db_engine")


class Note(BaseModel):
    text: str
    confidence: float


def make_flow(tmp_path: Path, crash_flag: Path):
    name = f"rerun_{uuid4().hex[:8]}"
    policy = tmp_path / f"{name}.yaml"
    policy.write_text(
        f"flow: {name}\nsteps:\n  draft_note:\n    kind: preparatory\n    mode: autonomous\n"
        "    manual_minutes: 4\n    signoff_when:\n      - confidence < 0.5\n")
    robot = CaseworkFlow(name, policy_file=policy)

    @robot.step(kind="preparatory")
    def draft_note(case: Case) -> Note:
        if case.id == "SAG-3" and crash_flag.exists():
            crash_flag.unlink()
            raise RuntimeError("worker lost")  # the first attempt dies at the third case
        return Note(text=f"note for {case.id}", confidence=0.2 if case.id == "SAG-2" else 0.9)

    @robot.flow()
    def batch(case_ids: list[str]) -> list[str]:
        return [require_signoff(draft_note(Case(id=c, department="byg"))).status.value
                for c in case_ids]

    return batch


def test_rerun_of_a_crashed_flow_run_counts_each_case_once(tmp_path: Path) -> None:
    crash_flag = tmp_path / "crash-once"
    crash_flag.touch()
    batch = make_flow(tmp_path, crash_flag)
    cases = ["SAG-1", "SAG-2", "SAG-3", "SAG-4"]
    first = batch(cases, return_state=True)
    assert first.is_failed()
    flow_run_id = first.state_details.flow_run_id
    with reading() as session:
        assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 3  # 1, 2, 3 failed

    with get_client(sync_client=True) as client:  # what `prefect flow-run retry` does
        client.set_flow_run_state(flow_run_id, Scheduled(), force=True)
        flow_run = client.read_flow_run(flow_run_id)
    result = run_flow(flow=batch, flow_run=flow_run, parameters={"case_ids": cases},
                      return_type="result")
    assert result == ["completed", "awaiting_signoff", "completed", "completed"]

    with reading() as session:
        rows = session.scalars(select(LedgerEntry)).all()
        tasks = session.scalars(select(SignoffTask)).all()
        repeated = session.scalars(select(AuditEvent.action)
                                   .where(AuditEvent.action == "step.repeated")).all()
    assert len(rows) == 4 and len({r.case_ref for r in rows}) == 4
    assert {r.flow_run_id for r in rows} == {str(flow_run_id)}
    assert sorted(r.outcome for r in rows) == ["awaiting_signoff", "completed", "completed",
                                               "completed"]
    assert sum(r.saved_minutes for r in rows) == 12.0  # three autonomous notes, once each
    assert len(tasks) == 1  # the sign-off task of SAG-2 was not made twice
    assert len(repeated) == 2  # SAG-1 and SAG-2 ran again; their first rows stand
