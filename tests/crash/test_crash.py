"""Crash safety of the whole stack, each part a separate process on loopback: a worker killed
mid-batch, the inbox killed mid-decision, the Prefect server stopped while caseworkers decide,
and 1,000 concurrent decisions. Nothing lost, nothing done twice."""

from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter
from uuid import UUID

import httpx
import pytest
from conftest import FIGURES, _cli, lap
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment
from prefect.states import Crashed
from sqlalchemy import func, select

from casework.db.models import AuditEvent, DecisionOutbox, LedgerEntry, SignoffTask
from casework.db.session import reading
from casework.privacy import pseudonymise
from connectors.case_system import CaseSystemClient, NewCase
from stack import Stack, wait_until

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def make_cases(stack: Stack, n: int, tag: str) -> list[str]:
    with CaseSystemClient(stack.cases_url, "crash-token") as cases:
        return [cases.create_case(NewCase(title=f"Byggesag {tag} {i}", case_type="byggesag",
                                          department="byggeri"),
                                  idempotency_key=f"crash-{tag}-{i}").id for i in range(n)]


def notes_per_case(stack: Stack, case_ids: list[str]) -> Counter[str]:
    with CaseSystemClient(stack.cases_url, "crash-token") as cases:
        return Counter({c: len(cases.list_journal_notes(c)) for c in case_ids})


def flow_run_state(flow_run_id: UUID) -> str:
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(flow_run_id).state
    return state.name if state else "?"


def test_worker_killed_mid_batch_every_case_once(stack: Stack) -> None:
    n = 30
    case_ids = make_cases(stack, n, "batch")
    notes_before = stack.case_stats()["journal_notes"]
    worker = stack.start_worker()
    lap("batch: worker started")
    run = run_deployment("crash-batch/crash-batch", parameters={"case_ids": case_ids},
                         timeout=0)
    wait_until("a third of the batch", lambda: stack.case_stats()["journal_notes"]
               - notes_before >= n // 3, timeout=120, every=0.1)
    lap("batch: a third filed")
    worker.kill()  # SIGKILL: the worker and the flow run's process, mid-batch
    filed_at_kill = stack.case_stats()["journal_notes"] - notes_before
    assert filed_at_kill < n, "the batch finished before the kill; nothing was tested"
    time.sleep(0.5)
    assert flow_run_state(run.id) == "Running"  # nobody behind it: a zombie run

    # What the zombie automation (deploy/automations.yaml) does when heartbeats stop, then
    # the documented recovery: `prefect flow-run retry`.
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(run.id, Crashed(message="worker killed"), force=True)
    _cli(stack, "-m", "prefect", "flow-run", "retry", str(run.id))
    stack.start_worker()
    lap("batch: retried, new worker started")
    wait_until("the retried run to complete", lambda: flow_run_state(run.id) == "Completed",
               timeout=150, every=0.5)
    lap("batch: completed")

    notes = notes_per_case(stack, case_ids)
    assert stack.case_stats()["journal_notes"] - notes_before == n
    missing = [c for c in case_ids if notes[c] == 0]
    twice = [c for c in case_ids if notes[c] > 1]
    assert missing == [] and twice == []
    with reading() as session:
        rows = session.scalars(select(LedgerEntry).where(
            LedgerEntry.flow_run_id == str(run.id))).all()
        repeated = session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "step.repeated", AuditEvent.flow == "crash_batch"))
    refs = Counter(r.case_ref for r in rows)
    assert set(refs) == {pseudonymise(c) for c in case_ids} and max(refs.values()) == 1
    assert {r.outcome for r in rows} == {"completed"}
    assert sum(r.saved_minutes for r in rows) == pytest.approx(3.0 * n)
    assert repeated >= 1  # steps the killed attempt had finished were not counted again
    FIGURES["worker killed mid-batch"] = {
        "cases": n, "notes filed before the kill": filed_at_kill, "lost": len(missing),
        "duplicates": len(twice), "ledger rows": len(rows), "steps repeated": repeated}
