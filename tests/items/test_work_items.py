"""Work items on a real Prefect API and a real SQLite database: counted once, parked at
sign-off, continued on the decision, acts only on approved work, failures kept."""

from __future__ import annotations

import textwrap
from pathlib import Path
from uuid import uuid4

import pytest
from pydantic import BaseModel
from sqlalchemy import func, select

from casework.case import Case
from casework.db.models import LedgerEntry, SignoffTask, WorkItem
from casework.db.session import reading, transaction
from casework.items import queue
from casework.items.queue import NewItem
from casework.items.states import ItemState
from casework.runtime import CaseworkFlow, Decision, NotApproved, require_signoff
from casework.settings import reset_settings_cache

pytestmark = pytest.mark.usefixtures("prefect_api", "db_engine")


class Letter(BaseModel):
    case_id: str
    text: str
    confidence: float = 0.9
    explode: bool = False


class Suggestion(BaseModel):
    kle: str
    confidence: float


class Filed(BaseModel):
    kle: str


POLICY = """\
suggest:
  kind: preparatory
  mode: autonomous
  manual_minutes: 5
  signoff_when: ["confidence < 0.5"]
file_kle:
  kind: preparatory
  mode: autonomous
  manual_minutes: 2
"""


def make_robot(tmp_path: Path, effects: list[tuple[str, str]], policy: str = POLICY, *,
               on_suggest=None, on_act=None):  # type: ignore[no-untyped-def]
    """A two-step robot (suggest, then the act of filing it); ``on_suggest`` / ``on_act`` run
    inside the steps (to make them slow or fail)."""
    name = f"t_{uuid4().hex[:8]}"
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"flow: {name}\nsteps:\n" + textwrap.indent(policy, "  "))
    robot = CaseworkFlow(name, policy_file=path)
    runs: list[str] = []

    @robot.step(kind="preparatory")
    def suggest(case: Case, letter: Letter) -> Suggestion:
        runs.append(case.id)
        if on_suggest:
            on_suggest()
        if letter.explode:
            raise RuntimeError(f"case system down for {case.id}")
        return Suggestion(kle="02.34.02", confidence=letter.confidence)

    @robot.act(kind="preparatory")
    def file_kle(case: Case, decision: Decision[Suggestion]) -> Filed:
        if on_act:
            on_act()
        effects.append((case.id, decision.value.kle))
        return Filed(kle=decision.value.kle)

    def handle(letter: Letter) -> dict:
        case = Case(id=letter.case_id, department="byg")
        decision = require_signoff(suggest(case, letter)).or_stop()
        filed = require_signoff(file_kle(case, decision)).or_stop().value
        return {"status": decision.status.value, "kle": filed.kle}

    @robot.flow()
    def run(item_ids: list[str] | None = None):
        return robot.process(handle, item_ids=item_ids)

    return robot, run, runs


def add_letters(robot, letters: list[Letter]) -> list[str]:
    return robot.add_items([NewItem(key=f"message:{i}-{letter.case_id}",
                                    payload=letter.model_dump())
                            for i, letter in enumerate(letters)]).ids


def ledger_count(flow: str) -> tuple[int, float]:
    with reading() as s:
        n = s.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.flow == flow))
        saved = s.scalar(select(func.coalesce(func.sum(LedgerEntry.saved_minutes), 0.0))
                         .where(LedgerEntry.flow == flow))
    return n, float(saved)


def decide(task_id: str, decision: str, value: dict | None = None) -> None:
    from datetime import UTC, datetime

    from casework import ledger
    from casework.ledger import Outcome

    with transaction() as s:
        task = s.get(SignoffTask, task_id)
        task.status, task.decision, task.decision_value = "decided", decision, value
        task.decided_by, task.decided_at = "anna", datetime.now(UTC)
        ledger.record_decision(s, task.ledger_entry_id, Outcome(decision), 30.0)


def test_same_key_twice_adds_nothing(tmp_path: Path) -> None:
    robot, _, _ = make_robot(tmp_path, [])
    first = robot.add_items([NewItem(key="message:a", payload={"case_id": "1", "text": "x"})])
    again = robot.add_items([NewItem(key="message:a", payload={"case_id": "2", "text": "y"}),
                             NewItem(key="message:b", payload={"case_id": "3", "text": "z"})])
    assert len(first.new) == 1 and again.ids[0] == first.ids[0]
    assert len(again.new) == 1 and again.existing == [first.ids[0]]
    with reading() as s:
        assert s.scalar(select(func.count()).select_from(WorkItem)
                        .where(WorkItem.flow == robot.name)) == 2
        assert s.get(WorkItem, first.ids[0]).payload["case_id"] == "1"


def test_parked_item_never_delays_others_and_reruns_count_nothing(tmp_path: Path) -> None:
    effects: list[tuple[str, str]] = []
    robot, run, runs = make_robot(tmp_path, effects)
    letters = [Letter(case_id=f"SAG-{i}", text="carport",
                      confidence=0.3 if i % 10 == 0 else 0.9) for i in range(100)]
    add_letters(robot, letters)

    report = run()
    assert report.count(ItemState.DONE) == 90
    assert report.count(ItemState.AWAITING_SIGNOFF) == 10
    assert len(effects) == 90  # the other 90 finished in the same run
    rows, saved = ledger_count(robot.name)
    with reading() as s:
        tasks = s.scalar(select(func.count()).select_from(SignoffTask)
                         .where(SignoffTask.flow == robot.name))
    assert tasks == 10

    # Twice more with nothing new and no decisions: no task, no minute, no step run again.
    for _ in range(2):
        again = run()
        assert again.rows == []
    assert ledger_count(robot.name) == (rows, saved)
    assert len(runs) == 100 and len(effects) == 90


def test_decisions_are_applied_once_and_rejections_never(tmp_path: Path) -> None:
    effects: list[tuple[str, str]] = []
    robot, run, runs = make_robot(tmp_path, effects)
    ids = add_letters(robot, [Letter(case_id=f"SAG-{i}", text="x", confidence=0.2)
                              for i in range(3)])
    first = run()
    tasks = {r.item_id: r.signoff_task_id for r in first.rows}
    assert all(tasks.values()) and effects == []

    decide(tasks[ids[0]], "approved")
    decide(tasks[ids[1]], "amended", {"kle": "02.34.30"})
    decide(tasks[ids[2]], "rejected")
    second = run()
    by_item = {r.item_id: r for r in second.rows}
    assert by_item[ids[0]].state == ItemState.DONE
    assert by_item[ids[2]].outcome == "rejected"
    assert sorted(effects) == [("SAG-0", "02.34.02"), ("SAG-1", "02.34.30")]
    assert sorted(runs) == ["SAG-0", "SAG-1", "SAG-2"]  # the suggestion was not made again

    before = ledger_count(robot.name)
    assert run().rows == []
    assert ledger_count(robot.name) == before
    assert len(effects) == 2


def test_act_step_refuses_unapproved_work(tmp_path: Path) -> None:
    effects: list[tuple[str, str]] = []
    name = f"t_{uuid4().hex[:8]}"
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"flow: {name}\nsteps:\n" + textwrap.indent(POLICY, "  "))
    robot = CaseworkFlow(name, policy_file=path)

    @robot.step(kind="preparatory")
    def suggest(case: Case, letter: Letter) -> Suggestion:
        return Suggestion(kle="02.34.02", confidence=0.1)

    @robot.act(kind="preparatory")
    def file_kle(case: Case, decision: Decision[Suggestion]) -> Filed:
        effects.append((case.id, decision.value.kle))
        return Filed(kle=decision.value.kle)

    @robot.flow()
    def careless() -> str:
        case = Case(id="SAG-1", department="byg")
        decision = require_signoff(suggest(case, Letter(case_id="SAG-1", text="x")))
        assert decision.status.value == "awaiting_signoff"
        try:
            file_kle(case, decision)
        except NotApproved as refused:
            return str(refused)
        return "acted"

    message = careless()
    assert "not approved or allowed" in message and "awaiting_signoff" in message
    assert effects == []
    from casework import registry

    assert "file_kle" in registry.act_steps(robot.name)


def test_act_step_needs_a_decision_parameter(tmp_path: Path) -> None:
    robot = CaseworkFlow(f"t_{uuid4().hex[:8]}", policy_file=tmp_path / "none.yaml")
    with pytest.raises(TypeError, match="must take the approved Decision"):
        @robot.act()
        def send(case: Case, text: str) -> None: ...


def test_failed_item_keeps_error_is_retried_then_goes_to_a_person(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEWORK_ITEM_RETRY_SECONDS", "0")
    monkeypatch.setenv("CASEWORK_ITEM_MAX_ATTEMPTS", "2")
    reset_settings_cache()
    effects: list[tuple[str, str]] = []
    robot, run, _ = make_robot(tmp_path, effects)
    [bad, good] = add_letters(robot, [Letter(case_id="SAG-9", text="x", explode=True),
                                      Letter(case_id="SAG-1", text="y")])
    first = run()
    states = {r.item_id: r.state for r in first.rows}
    assert states == {bad: ItemState.FAILED, good: ItemState.DONE}
    item = queue.get_item(bad)
    assert item.attempts == 1 and "RuntimeError" in (item.last_error or "")
    second = run()
    assert [r.state for r in second.rows] == [ItemState.MANUAL]
    item = queue.get_item(bad)
    assert item.state == "manual" and item.parked_task_id
    with reading() as s:
        task = s.get(SignoffTask, item.parked_task_id)
        assert task.status == "awaiting" and task.step == queue.HANDLE_BY_HAND
    # A person lets the robot try again (approves the hand-over task): the item is ready.
    decide(item.parked_task_id, "approved")
    third = run()
    assert [r.item_id for r in third.rows] == [bad]


def test_policy_check_refuses_signoff_on_an_act_step(tmp_path: Path) -> None:
    from casework.policy.errors import PolicyError

    bad = POLICY.replace("file_kle:\n  kind: preparatory\n  mode: autonomous",
                         "file_kle:\n  kind: preparatory\n  mode: signoff")
    robot, run, _ = make_robot(tmp_path, [], policy=bad)
    with pytest.raises(PolicyError, match="cannot wait for sign-off itself"):
        robot.policy()


def test_a_stopped_flow_acts_only_on_work_a_person_approved(tmp_path: Path) -> None:
    """With the stop switch on, the suggestion goes to a caseworker; once she approves, the
    act runs (a person approved it), once."""
    from casework.oversight.stop_switch import set_stopped

    effects: list[tuple[str, str]] = []
    robot, run, runs = make_robot(tmp_path, effects)
    [item_id] = add_letters(robot, [Letter(case_id="SAG-1", text="x", confidence=0.9)])
    set_stopped(robot.name, stopped=True, actor="ops", reason="audit of the robot")
    first = run()  # the suggestion itself now goes to sign-off: nothing is acted on
    assert [r.state for r in first.rows] == [ItemState.AWAITING_SIGNOFF] and effects == []
    decide(first.rows[0].signoff_task_id, "approved")
    second = run()  # a person approved: acting on it is allowed even while stopped
    assert [r.state for r in second.rows] == [ItemState.DONE]
    assert effects == [("SAG-1", "02.34.02")] and runs == ["SAG-1"]
    assert queue.get_item(item_id).state == "done"


def test_a_bad_payload_fails_the_item_naming_the_field(tmp_path: Path) -> None:
    robot, run, _ = make_robot(tmp_path, [])
    [item_id] = robot.add_items([NewItem(key="message:bad", payload={
        "case_id": "SAG-1", "text": "x", "confidence": "very"})]).ids
    [row] = run().rows
    assert row.state == ItemState.FAILED
    assert "invalid item payload: confidence:" in (queue.get_item(item_id).last_error or "")


def test_a_stopped_flow_holds_acts_on_work_only_the_robot_prepared(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Prepared autonomously before the stop, not yet acted on: while the flow is stopped the
    act waits (the item is put back untouched), and runs once the flow is restarted."""
    from casework.oversight.stop_switch import set_stopped

    monkeypatch.setenv("CASEWORK_ITEM_RETRY_SECONDS", "0")
    reset_settings_cache()
    effects: list[tuple[str, str]] = []
    down = {"now": True}

    def case_system() -> None:
        if down["now"]:
            raise RuntimeError("case system down")

    robot, run, _ = make_robot(tmp_path, effects, on_act=case_system)
    [item_id] = add_letters(robot, [Letter(case_id="SAG-1", text="x")])
    assert [r.state for r in run().rows] == [ItemState.FAILED]  # suggested, filing failed
    down["now"] = False
    set_stopped(robot.name, stopped=True, actor="ops", reason="audit of the robot")
    held = run().rows
    assert [(r.state, r.outcome) for r in held] == [(ItemState.READY, "held")]
    assert effects == [] and "held" in (queue.get_item(item_id).last_error or "")
    set_stopped(robot.name, stopped=False, actor="ops", reason="audit done")
    with transaction() as s:  # the hold's wait is over
        s.get(WorkItem, item_id).not_before = None
    assert [r.state for r in run().rows] == [ItemState.DONE]
    assert effects == [("SAG-1", "02.34.02")]


def test_a_worker_that_lost_its_lease_does_not_act(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Another worker took the item over while this one was slow: the heartbeat notices, and
    the act step refuses to run here (the new holder does the work, once)."""
    import time

    monkeypatch.setenv("CASEWORK_ITEM_LEASE_SECONDS", "0.3")
    reset_settings_cache()
    effects: list[tuple[str, str]] = []
    taken: list[str] = []

    def taken_over_meanwhile() -> None:
        with transaction() as s:
            s.get(WorkItem, taken[0]).lease_holder = "another-worker"
        time.sleep(0.6)

    robot, run, _ = make_robot(tmp_path, effects, on_suggest=taken_over_meanwhile)
    taken.extend(add_letters(robot, [Letter(case_id="SAG-1", text="x")]))
    [row] = run().rows
    assert row.outcome == "taken over" and effects == []
    assert queue.get_item(taken[0]).lease_holder == "another-worker"
