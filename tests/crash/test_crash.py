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
from crash_stack import FIGURES, Stack, cli, lap, wait_until
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment
from prefect.states import Crashed
from sqlalchemy import func, select

from casework.db.models import AuditEvent, DecisionOutbox, LedgerEntry, SignoffTask
from casework.db.session import reading
from casework.privacy import pseudonymise
from connectors.case_system import CaseSystemClient, NewCase

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
    cli(stack, "-m", "prefect", "flow-run", "retry", str(run.id))
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


# -- the inbox side --------------------------------------------------------------------------

class Caseworker:
    """One person's browser session against the inbox process, over HTTP."""

    def __init__(self, stack: Stack, user_id: str) -> None:
        self.stack, self.user_id = stack, user_id
        self.http = httpx.Client(base_url=stack.inbox_url, timeout=30, follow_redirects=False)
        self.csrf = ""
        self.login()

    def login(self) -> None:
        page = self.http.get("/login")
        self.http.post("/login", data={"user_id": self.user_id,
                                       "csrf": CSRF.search(page.text).group(1)})
        self.csrf = CSRF.search(self.http.get("/queue").text).group(1)

    def approve(self, task_id: str) -> str:
        """'saved', 'refused' (someone decided first) or 'error' (no answer)."""
        try:
            response = self.http.post(f"/tasks/{task_id}/decide", data={
                "csrf": self.csrf, "decision": "approved", "version": "1"})
        except httpx.HTTPError:
            return "error"
        if response.status_code == 303:
            return "saved"
        return "refused" if response.status_code == 409 else f"http {response.status_code}"


USERS = ("anna.byg", "bo.byg", "lise.leder")


def recorded_tasks(n: int, tag: str) -> list[str]:
    """n sign-off tasks of one real flow run that went on without waiting ('record')."""
    from datetime import UTC, datetime
    from uuid import uuid4

    from prefect import flow

    from casework import ledger
    from casework.db.session import transaction
    from casework.ledger import Mode, Outcome, StepRecord
    from casework.signoff.tasks import create_signoff_task

    @flow(name=f"crash-recorded-{tag}")
    def recorded() -> str:
        from prefect.runtime import flow_run
        return str(flow_run.id)

    flow_run_id = recorded()
    ids = []
    with transaction() as session:
        for i in range(n):
            step_id, case_ref = str(uuid4()), pseudonymise(f"{tag}-{i}")
            ledger.record_step(session, StepRecord(
                id=step_id, flow="crash_signoff", flow_run_id=flow_run_id, step="draft_note",
                step_kind="preparatory", case_ref=case_ref, policy_hash="p" * 64,
                mode=Mode.SIGNOFF, outcome=Outcome.AWAITING_SIGNOFF, robot_seconds=0.1,
                baseline_minutes=5, department="byggeri", started_at=datetime.now(UTC)))
            create_signoff_task(
                session, ledger_entry_id=step_id, flow="crash_signoff", flow_run_id=flow_run_id,
                step="draft_note", case_ref=case_ref, department="byggeri",
                roles=["caseworker"], departments=["byggeri"],
                suggestion={"text": f"Notat {i}", "confidence": 0.4}, reasons=["test"],
                case_summary="Notat til sagen", deadline_hours=24, policy_hash="p" * 64)
            ids.append(step_id)
    return ids


def decide_all(stack: Stack, slices: list[list[str]]) -> dict[str, list[str]]:
    """One thread per caseworker, each approving its slice; returns answers per task."""
    answers: dict[str, list[str]] = {}
    lock = threading.Lock()
    people = [Caseworker(stack, USERS[i % len(USERS)]) for i in range(len(slices))]

    def work(person: Caseworker, tasks: list[str]) -> None:
        for task_id in tasks:
            answer = person.approve(task_id)
            with lock:
                answers.setdefault(task_id, []).append(answer)

    threads = [threading.Thread(target=work, args=(p, s)) for p, s in zip(people, slices,
                                                                          strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return answers


def task_states(task_ids: list[str]) -> dict[str, tuple[str, int, str]]:
    """task id -> (status, outbox rows, ledger outcome)."""
    with reading() as session:
        status = dict(session.execute(select(SignoffTask.id, SignoffTask.status)
                                      .where(SignoffTask.id.in_(task_ids))).all())
        outbox = Counter(session.scalars(select(DecisionOutbox.signoff_task_id)
                                         .where(DecisionOutbox.signoff_task_id.in_(task_ids))))
        outcome = dict(session.execute(select(LedgerEntry.id, LedgerEntry.outcome)
                                       .where(LedgerEntry.id.in_(task_ids))).all())
    return {t: (status[t], outbox[t], outcome[t]) for t in task_ids}


def assert_never_half(states: dict[str, tuple[str, int, str]]) -> None:
    for task_id, (status, rows, outcome) in states.items():
        assert (status, rows, outcome) in (("decided", 1, "approved"),
                                           ("awaiting", 0, "awaiting_signoff")), task_id


def test_server_stopped_while_caseworkers_decide(stack: Stack) -> None:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    if not any(w.alive for w in stack.workers):
        stack.start_worker()
    case_ids = make_cases(stack, 3, "pause")
    runs = [run_deployment("crash-signoff/crash-signoff", parameters={"case_ids": [c]},
                           timeout=0).id for c in case_ids]

    def suspended() -> bool:
        with get_client(sync_client=True) as client:
            found = client.read_flow_runs(flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=runs)))
        return all(r.state and r.state.is_paused() for r in found) and len(found) == 3

    wait_until("three runs suspended at sign-off", suspended, timeout=240, every=0.5)
    lap("server stop: three runs suspended")
    with reading() as session:
        tasks = list(session.scalars(select(SignoffTask.id).where(
            SignoffTask.flow_run_id.in_([str(r) for r in runs]))))
    assert len(tasks) == 3
    stack.deliverer.start()
    stack.server.stop()
    answers = decide_all(stack, [[t] for t in tasks])  # the inbox works without Prefect
    assert all(a == ["saved"] for a in answers.values()), answers

    def tried_and_pending() -> bool:
        with reading() as session:
            rows = session.scalars(select(DecisionOutbox).where(
                DecisionOutbox.signoff_task_id.in_(tasks))).all()
        return len(rows) == 3 and all(r.status == "pending" and r.attempts >= 1 for r in rows)

    wait_until("the deliverer to find Prefect down", tried_and_pending, timeout=60)
    lap("server stop: decisions queued while Prefect is down")
    stack.start_server()  # same port, same database
    lap("server stop: Prefect back")
    if not any(w.alive for w in stack.workers):
        stack.start_worker()
    wait_until("the three runs to finish", lambda: all(
        flow_run_state(r) == "Completed" for r in runs), timeout=150, every=0.5)
    lap("server stop: runs completed")
    notes = notes_per_case(stack, case_ids)
    assert all(notes[c] == 1 for c in case_ids), notes
    with reading() as session:
        rows = session.scalars(select(DecisionOutbox).where(
            DecisionOutbox.signoff_task_id.in_(tasks))).all()
        ledger_rows = session.scalars(select(LedgerEntry).where(
            LedgerEntry.flow_run_id.in_([str(r) for r in runs]))).all()
    assert sorted(r.status for r in rows) == ["delivered"] * 3
    assert sorted(r.outcome for r in ledger_rows) == ["approved"] * 3  # one row per case
    stack.deliverer.stop()
    FIGURES["Prefect server stopped"] = {
        "suspended runs": 3, "decisions": 3, "delivered": 3, "lost": 0,
        "duplicates": sum(notes.values()) - 3}


def test_inbox_killed_during_decisions_never_half(stack: Stack) -> None:
    tasks = recorded_tasks(300, "kill")
    slices = [tasks[i::20] for i in range(20)]
    result: dict[str, list[str]] = {}
    deciding = threading.Thread(target=lambda: result.update(decide_all(stack, slices)))
    deciding.start()

    def decided() -> int:
        with reading() as session:
            return session.scalar(select(func.count()).select_from(SignoffTask).where(
                SignoffTask.id.in_(tasks), SignoffTask.status == "decided")) or 0

    wait_until("decisions under way", lambda: decided() >= 60, timeout=120, every=0.05)
    stack.inbox.kill()  # SIGKILL while 20 people are deciding
    deciding.join(timeout=300)
    states = task_states(tasks)
    assert_never_half(states)
    at_kill = sum(s[0] == "decided" for s in states.values())
    confirmed = [t for t, a in result.items() if a == ["saved"]]
    assert all(states[t][0] == "decided" for t in confirmed)  # what a person saw is kept
    assert any(a == ["error"] for a in result.values())  # the kill cut requests off
    lap(f"inbox kill: {at_kill} decided at the kill, {len(confirmed)} confirmed")

    stack.start_inbox()
    undecided = [t for t, s in states.items() if s[0] == "awaiting"]
    again = decide_all(stack, [undecided[i::20] for i in range(20)])
    assert all(a == ["saved"] for a in again.values())
    states = task_states(tasks)
    assert all(s == ("decided", 1, "approved") for s in states.values())

    from casework.signoff.outbox import deliver_pending

    deliver_pending(limit=1000)
    with reading() as session:
        rows = session.execute(select(DecisionOutbox.signoff_task_id, DecisionOutbox.status)
                               .where(DecisionOutbox.signoff_task_id.in_(tasks))).all()
    assert len(rows) == 300 and len({t for t, _ in rows}) == 300
    assert {status for _, status in rows} == {"not_waiting"}  # settled once, none pending
    FIGURES["inbox killed"] = {"decisions": 300, "decided before the kill": at_kill,
                               "lost": 0, "half-stored": 0, "duplicates": 0}


def test_a_thousand_decisions_from_twenty_clients(stack: Stack) -> None:
    from casework.signoff.outbox import deliver_pending

    tasks = recorded_tasks(1000, "load")
    slices = [tasks[i * 50:(i + 1) * 50] for i in range(20)]
    # Each client also tries five of its neighbour's tasks: races that exactly one must win.
    contested = [s + slices[(i + 1) % 20][:5] for i, s in enumerate(slices)]
    for s in contested:
        random.shuffle(s)
    started = time.monotonic()
    answers = decide_all(stack, contested)
    seconds = time.monotonic() - started
    saved = sum(a.count("saved") for a in answers.values())
    refused = sum(a.count("refused") for a in answers.values())
    assert all(a.count("saved") == 1 for a in answers.values())
    assert (saved, refused) == (1000, 100)
    states = task_states(tasks)
    assert all(s == ("decided", 1, "approved") for s in states.values())

    started_delivery = time.monotonic()
    report = deliver_pending(limit=5000)
    delivery_seconds = time.monotonic() - started_delivery
    assert (report.not_waiting, report.failed, report.pending) == (1000, 0, 0)
    with reading() as session:
        per_task = Counter(session.scalars(select(DecisionOutbox.signoff_task_id).where(
            DecisionOutbox.signoff_task_id.in_(tasks), DecisionOutbox.status == "not_waiting")))
    assert len(per_task) == 1000 and set(per_task.values()) == {1}
    FIGURES["1,000 decisions, 20 clients"] = {
        "decisions": saved, "races refused": refused, "lost": 0, "duplicates": 0,
        "decisions/s": round(saved / seconds), "outbox settled in s": round(delivery_seconds, 1)}


# -- work items ----------------------------------------------------------------------------------

def add_case_items(case_ids: list[str]) -> list[str]:
    from casework.items.queue import NewItem, add

    return add("crash_items", [NewItem(key=f"case:{c}", payload={"case_id": c})
                               for c in case_ids]).ids


def item_states(ids: list[str]) -> Counter[str]:
    from casework.db.models import WorkItem

    with reading() as session:
        return Counter(session.scalars(select(WorkItem.state).where(WorkItem.id.in_(ids))))


def ledger_per_item_step(ids: list[str]) -> Counter[tuple[str, str]]:
    with reading() as session:
        rows = session.execute(select(LedgerEntry.work_item_id, LedgerEntry.step).where(
            LedgerEntry.work_item_id.in_(ids))).all()
    return Counter((item, step) for item, step in rows)


def assert_each_item_once(stack: Stack, case_ids: list[str], ids: list[str]) -> None:
    notes = notes_per_case(stack, case_ids)
    assert [c for c in case_ids if notes[c] != 1] == []  # 0 lost, 0 duplicated effects
    per_step = ledger_per_item_step(ids)
    assert set(per_step.values()) == {1} and len(per_step) == 2 * len(ids)  # counted once
    with reading() as session:
        saved = session.scalar(select(func.sum(LedgerEntry.saved_minutes)).where(
            LedgerEntry.work_item_id.in_(ids)))
    assert saved == pytest.approx(4.0 * len(ids))


def test_worker_killed_holding_leases_every_item_once(stack: Stack) -> None:
    from casework.db.models import WorkItem

    n = 24
    case_ids = make_cases(stack, n, "items")
    ids = add_case_items(case_ids)
    notes_before = stack.case_stats()["journal_notes"]
    fast_leases = {"CASEWORK_ITEM_LEASE_SECONDS": "6", "CASEWORK_MAX_CONCURRENCY": "2"}
    worker = stack.start_worker(**fast_leases)
    run_deployment("crash-items/crash-items", parameters={"item_ids": ids}, timeout=0)
    wait_until("a third of the items", lambda: stack.case_stats()["journal_notes"]
               - notes_before >= n // 3, timeout=150, every=0.1)
    worker.kill()  # SIGKILL while it holds leases on the items in hand
    filed_at_kill = stack.case_stats()["journal_notes"] - notes_before
    assert filed_at_kill < n, "the batch finished before the kill; nothing was tested"
    with reading() as session:
        held = session.scalar(select(func.count()).select_from(WorkItem).where(
            WorkItem.id.in_(ids), WorkItem.state == "in_progress"))
    assert held >= 1

    # The leases run out; a new run on another worker takes the items over, effects once.
    time.sleep(7)
    stack.start_worker(**fast_leases)
    run_deployment("crash-items/crash-items", parameters={"item_ids": ids}, timeout=0)
    wait_until("every item done", lambda: item_states(ids) == Counter({"done": n}),
               timeout=180, every=0.5)
    assert_each_item_once(stack, case_ids, ids)
    FIGURES["worker killed holding leases"] = {
        "items": n, "filed before the kill": filed_at_kill, "leases held at the kill": held,
        "lost": 0, "duplicates": 0}


def test_two_workers_share_a_backlog_each_item_once(stack: Stack) -> None:
    n = 40
    case_ids = make_cases(stack, n, "backlog")
    ids = add_case_items(case_ids)
    for _ in range(2):
        stack.start_worker(CASEWORK_MAX_CONCURRENCY="2")
    started = time.monotonic()
    out = cli(stack, "-m", "casework.cli", "items", "backlog", "--flow", "crash_items",
              "--deployment", "crash-items/crash-items", "--chunk", "20")
    assert out.count("flow run ") == 2
    # Two more runs over the whole backlog compete with them for the same items.
    for _ in range(2):
        run_deployment("crash-items/crash-items", parameters={"item_ids": ids}, timeout=0)
    wait_until("every item done", lambda: item_states(ids) == Counter({"done": n}),
               timeout=240, every=0.5)
    seconds = time.monotonic() - started
    assert_each_item_once(stack, case_ids, ids)
    FIGURES["two workers share a backlog"] = {
        "items": n, "flow runs": 4, "database": stack.backend, "seconds": round(seconds, 1),
        "lost": 0, "duplicates": 0}
