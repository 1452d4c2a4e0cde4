"""A resume typed into Prefect is never an approval: the suspended run is audited and waits again,
and the inbox's decision still completes it. A real Prefect API, a real ``flow.serve()`` runner
in a subprocess (the run ends its process while suspended and starts again from the top)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment
from prefect.flow_runs import resume_flow_run
from sqlalchemy import select

from casework.db.models import AuditEvent, LedgerEntry, SignoffTask
from casework.db.session import reading
from casework.inbox import decisions
from casework.inbox.identity import load_user
from casework.inbox.seed import seed_demo_users
from casework.signoff.outbox import deliver_pending
from casework.signoff.wait import OUTSIDE_RESUME

REPO = Path(__file__).resolve().parents[2]

FLOW = textwrap.dedent('''
    from pydantic import BaseModel

    from casework.case import Case
    from casework.runtime import CaseworkFlow, Decision, require_signoff

    from pathlib import Path

    robot = CaseworkFlow("safe_resume", policy_file=Path(__file__).with_name("safe_resume.yaml"))


    class Subject(BaseModel):
        kle: str


    @robot.step(kind="preparatory")
    def suggest(case: Case) -> Subject:
        return Subject(kle="02.34.24")


    @robot.act(kind="preparatory")
    def file_it(case: Case, decision: Decision[Subject]) -> str:
        return decision.value.kle


    @robot.flow()
    def safe_resume(case_id: str) -> str:
        case = Case(id=case_id, department="byggeri")
        decision = require_signoff(suggest(case), wait="suspend")
        if not decision.proceed:
            return decision.status.value
        return require_signoff(file_it(case, decision)).value

''')

POLICY = textwrap.dedent('''
    flow: safe_resume
    department: byggeri
    steps:
      suggest:
        kind: preparatory
        mode: signoff
        manual_minutes: 6
        signoff_by: {roles: [caseworker], departments: [byggeri]}
      file_it:
        kind: preparatory
        mode: autonomous
        manual_minutes: 1
''')


def _state(run_id: UUID):  # type: ignore[no-untyped-def]
    with get_client(sync_client=True) as client:
        return client.read_flow_run(run_id).state


def _wait(what: str, check, timeout: float = 90.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def served(prefect_api: str, db_engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "safe_resume_flow.py").write_text(FLOW)
    (folder / "safe_resume.yaml").write_text(POLICY)
    env = {**os.environ, "PREFECT_API_URL": prefect_api, "PREFECT_RUNNER_POLL_FREQUENCY": "1",
           "CASEWORK_SIGNOFF_WAIT": "suspend",
           "PYTHONPATH": os.pathsep.join([str(REPO), str(folder)])}
    log = (tmp_path / "serve.log").open("wb")
    # Served from an importable module (a flow in __main__ would be pickled whole).
    serve = "from safe_resume_flow import safe_resume; safe_resume.serve(name='safe-resume')"
    proc = subprocess.Popen([sys.executable, "-c", serve], env=env,
                            cwd=folder, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        yield proc, tmp_path / "serve.log"
    finally:
        proc.send_signal(2)  # SIGINT: the runner stops its loop
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_a_resume_from_prefect_is_audited_and_the_run_waits_for_the_inbox(served, db_engine):
    proc, log = served

    def deployed():  # type: ignore[no-untyped-def]
        assert proc.poll() is None, log.read_text()
        try:
            return run_deployment("safe-resume/safe-resume", parameters={"case_id": "SAG-1"},
                                  timeout=0)
        except Exception:  # noqa: BLE001 - the runner is still registering the deployment
            return None

    run = _wait("the served deployment", deployed, timeout=120)

    def suspended_task():  # type: ignore[no-untyped-def]
        state = _state(run.id)
        assert not (state and state.is_final()), f"{state}\n{log.read_text()[-3000:]}"
        if not (state and state.is_paused()):
            return None
        with reading() as session:
            return session.scalars(select(SignoffTask)).first()

    task = _wait("the run to suspend at the sign-off step", suspended_task)
    first_key = _state(run.id).state_details.pause_key
    assert first_key == f"signoff-{task.id}"

    # Someone presses Resume in Prefect's UI with the form filled in (the task id is all the
    # form takes: there is no decision field to forge).
    resume_flow_run(run.id, run_input={"task_id": task.id})

    def waits_again():  # type: ignore[no-untyped-def]
        state = _state(run.id)
        return state if (state and state.is_paused()
                         and state.state_details.pause_key != first_key) else None

    again = _wait("the run to wait again after the forged resume", waits_again)
    assert again.state_details.pause_key == f"signoff-{task.id}-1"
    with reading() as session:
        events = session.scalars(select(AuditEvent).where(
            AuditEvent.action == OUTSIDE_RESUME)).all()
        stored = session.get(SignoffTask, task.id)
        rows = session.scalars(select(LedgerEntry)).all()
    assert len(events) == 1
    assert events[0].details["task_id"] == task.id
    assert events[0].details["flow_run_id"] == str(run.id)
    assert stored.decision is None and stored.status == "awaiting"
    assert [(r.step, r.outcome) for r in rows] == [("suggest", "awaiting_signoff")]

    # The caseworker decides in the inbox; the sign-off service wakes the run.
    seed_demo_users(db_engine)
    with reading() as session:
        anna = load_user(session, "anna.byg")
    decisions.decide(db_engine, anna, task.id, decision="approved", version=stored.version)
    assert deliver_pending().delivered == 1

    final = _wait("the run to complete", lambda: (s := _state(run.id)) and s.is_final() and s)
    assert final.is_completed(), final
    with reading() as session:
        rows = session.scalars(select(LedgerEntry).order_by(LedgerEntry.started_at)).all()
        events = session.scalars(select(AuditEvent).where(
            AuditEvent.action == OUTSIDE_RESUME)).all()
    assert [(r.step, r.outcome) for r in rows] == [("suggest", "approved"),
                                                   ("file_it", "completed")]
    assert len(events) == 1  # walking past the fired key again is not a second resume
