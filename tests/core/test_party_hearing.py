"""The party hearing (forvaltningsloven § 19) the runtime inserts before a decision: the letter
goes to sign-off, is recorded as sent, and the decision waits for the reply or the deadline.
Real Prefect API, real SQLite, decisions taken through the inbox's own ``decide``."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from prefect.client.orchestration import get_client
from sqlalchemy import Engine, select

from casework.case import Case
from casework.db.models import (
    AuditEvent,
    HearingWakeup,
    LedgerEntry,
    PartyHearing,
    SignoffTask,
)
from casework.db.session import reading
from casework.inbox import decisions
from casework.inbox.identity import load_user
from casework.inbox.seed import seed_demo_users
from casework.policy.hearing import GatheredFact
from casework.privacy import pseudonymise
from casework.rights.hearing import (
    HEARING_AI_NOTICE,
    HEARING_OUTSIDE_RESUME,
    HearingDraft,
    HearingError,
    register_reply,
    wake_expired_hearings,
)
from casework.runtime import CaseworkFlow, require_signoff
from casework.signoff.outbox import deliver_pending

pytestmark = pytest.mark.usefixtures("prefect_api", "db_engine")

DECISION = """\
  decide_permit:
    kind: decision
    effects: [rejects_application]
    legal_basis: ["byggeloven § 16"]
    facts_relied_on: [tax debt]
    mode: signoff
    manual_minutes: 20
    hearing_reply_days: 14
"""
EXEMPT = "    hearing: exempt\n    hearing_exception: fvl19_2_1\n"
DEBT = GatheredFact(name="tax debt", source="registry:skat", adverse=True)


def letter(draft: HearingDraft) -> str:
    facts = "\n".join(f"- {label}" for label in draft.labels)
    return (f"Vi har indhentet disse oplysninger:\n{facts}\n"
            f"Du kan svare senest {draft.reply_deadline:%d.%m.%Y}.")


def make_flow(tmp_path: Path, *, exempt: bool = False, wait: str = "record"):
    name = f"h_{uuid4().hex[:8]}"
    policy = tmp_path / f"{name}.yaml"
    policy.write_text(f"flow: {name}\ndepartment: byggeri\nsteps:\n"
                      + DECISION + (EXEMPT if exempt else ""))
    robot = CaseworkFlow(name, policy_file=policy)
    sent: list[str] = []

    @robot.step(kind="decision")
    def decide_permit(case: Case) -> dict:
        return {"permit": False}

    @robot.flow()
    def run(case_id: str, facts: list[GatheredFact], now: datetime | None = None) -> dict:
        case = Case(id=case_id, department="byggeri")
        hearing = robot.party_hearing(case, decision_step="decide_permit", facts=facts,
                                      draft=letter, send=sent.append, wait=wait, now=now)
        result = {"hearing": hearing.status, "reason": hearing.reason}
        if hearing.proceed:
            result["decision"] = require_signoff(decide_permit(case), wait="record").status.value
        return result

    return run, sent


def approve(engine: Engine, task_id: str, *, amended_text: str | None = None) -> None:
    seed_demo_users(engine)
    with reading(engine) as session:
        user = load_user(session, "anna.byg")
        version = session.get(SignoffTask, task_id).version
    if amended_text is None:
        decisions.decide(engine, user, task_id, decision="approved", version=version)
    else:
        decisions.decide(engine, user, task_id, decision="amended", version=version,
                         reason="clearer wording", value={"text": amended_text})


def the_hearing() -> PartyHearing:
    with reading() as session:
        return session.scalars(select(PartyHearing)).one()


def actions() -> list[str]:
    with reading() as session:
        return [a for a in session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq))
                if a.startswith("hearing.")]


def test_no_adverse_facts_from_other_sources_needs_no_hearing(tmp_path: Path) -> None:
    run, sent = make_flow(tmp_path)
    facts = [GatheredFact(name="plot size", source="registry:bbr", adverse=False),
             GatheredFact(name="own statement", source="party", adverse=True),
             GatheredFact(name="old note", source="case:other", adverse=True, material=False)]
    result = run("SAG-1", facts)
    assert result["hearing"] == "not_required" and "no adverse, material" in result["reason"]
    assert result["decision"] == "awaiting_signoff"
    with reading() as session:
        assert session.scalars(select(PartyHearing)).all() == []
        assert [e.step for e in session.scalars(select(LedgerEntry))] == ["decide_permit"]


def test_an_exempt_step_skips_the_hearing_with_its_coded_reason(tmp_path: Path) -> None:
    run, _ = make_flow(tmp_path, exempt=True)
    result = run("SAG-2", [DEBT])
    assert result["hearing"] == "not_required"
    assert "fvl19_2_1" in result["reason"] and result["decision"] == "awaiting_signoff"


def test_adverse_registry_fact_letter_signoff_reply_then_decision(tmp_path: Path,
                                                                 db_engine: Engine) -> None:
    run, sent = make_flow(tmp_path)
    first = run("SAG-3", [DEBT])
    assert first["hearing"] == "awaiting_letter_signoff" and "tax debt" in first["reason"]
    assert "decision" not in first  # the decision step never ran
    assert run("SAG-3", [DEBT])["hearing"] == "awaiting_letter_signoff"
    with reading() as session:
        tasks = session.scalars(select(SignoffTask)).all()
        entries = session.scalars(select(LedgerEntry)).all()
    assert len(tasks) == 1 and len(entries) == 1  # the second run found the same letter
    task = tasks[0]
    assert task.step == "party_hearing" and task.department == "byggeri"
    suggestion = task.payload["suggestion"]
    assert "tax debt (registry:skat)" in suggestion["text"]
    assert suggestion["text"].rstrip().endswith(HEARING_AI_NOTICE)
    assert entries[0].baseline_minutes == 15 and entries[0].step_kind == "preparatory"
    assert sent == []

    approve(db_engine, task.id, amended_text="Vi har fået oplysninger om gæld til SKAT.")
    started = datetime.now(UTC)
    assert run("SAG-3", [DEBT])["hearing"] == "awaiting_reply"
    assert len(sent) == 1 and sent[0].startswith("Vi har fået oplysninger om gæld til SKAT.")
    assert HEARING_AI_NOTICE in sent[0]  # the amendment dropped it; it is put back
    hearing = the_hearing()
    assert hearing.status == "sent" and hearing.signoff_task_id == task.id
    assert len(hearing.letter_sha256) == 64 and hearing.reply_received_at is None
    assert hearing.reply_deadline.replace(tzinfo=UTC) >= started + timedelta(days=14)

    assert run("SAG-3", [DEBT])["hearing"] == "awaiting_reply"  # still waiting; not sent again
    assert len(sent) == 1

    reply = register_reply("SAG-3", by="anna.byg", note="disputes the debt")
    assert reply.decision_step == "decide_permit" and not reply.after_deadline
    assert not reply.wakes_run  # record mode: no run waits; the next run reads the row
    with pytest.raises(HearingError, match="already registered by anna.byg"):
        register_reply("SAG-3", by="bo.byg")

    after_reply = run("SAG-3", [DEBT])
    assert (after_reply["hearing"], after_reply["decision"]) == ("reply_received",
                                                                 "awaiting_signoff")
    assert len(sent) == 1
    hearing = the_hearing()
    assert (hearing.reply_registered_by, hearing.reply_note) == ("anna.byg", "disputes the debt")
    assert actions() == ["hearing.sent", "hearing.reply_registered"]
    with reading() as session:
        steps = [e.step for e in session.scalars(select(LedgerEntry))]
        assert steps.count("party_hearing") == 1 and len(session.scalars(
            select(SignoffTask).where(SignoffTask.step == "party_hearing")).all()) == 1


def test_deadline_passed_lets_the_decision_proceed_and_a_late_reply_is_kept(
        tmp_path: Path, db_engine: Engine) -> None:
    run, sent = make_flow(tmp_path)
    run("SAG-4", [DEBT])
    approve(db_engine, the_hearing().signoff_task_id)
    assert run("SAG-4", [DEBT])["hearing"] == "awaiting_reply"
    deadline = the_hearing().reply_deadline.replace(tzinfo=UTC)

    assert run("SAG-4", [DEBT], deadline - timedelta(minutes=1))["hearing"] == "awaiting_reply"
    result = run("SAG-4", [DEBT], deadline + timedelta(minutes=1))
    assert result["hearing"] == "deadline_passed" and result["decision"] == "awaiting_signoff"
    assert wake_expired_hearings(now=deadline + timedelta(hours=1)) == 0  # recorded once

    late = register_reply(pseudonymise("SAG-4"), by="bo.byg", now=deadline + timedelta(days=1))
    assert late.after_deadline
    assert actions() == ["hearing.sent", "hearing.deadline_passed", "hearing.reply_registered"]
    assert len(sent) == 1


def test_a_rejected_letter_stops_the_decision(tmp_path: Path, db_engine: Engine) -> None:
    run, sent = make_flow(tmp_path)
    run("SAG-5", [DEBT])
    seed_demo_users(db_engine)
    task_id = the_hearing().signoff_task_id
    with reading() as session:
        user = load_user(session, "anna.byg")
    decisions.decide(db_engine, user, task_id, decision="rejected", version=1,
                     reason="the debt was paid; decide by hand")
    assert run("SAG-5", [DEBT])["hearing"] == "letter_rejected"
    assert sent == [] and the_hearing().status == "letter_rejected"
    with pytest.raises(HearingError, match="no sent hearing letter"):
        register_reply("SAG-5", by="anna.byg")


def test_a_paused_flow_is_woken_by_the_reply(tmp_path: Path, db_engine: Engine) -> None:
    run, sent = make_flow(tmp_path, wait="pause")
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(run("SAG-6", [DEBT])), daemon=True)
    thread.start()
    task = wait_until(lambda: _task_if_paused())
    approve(db_engine, task.id)
    assert deliver_pending().delivered == 1  # wakes the letter's sign-off wait

    hearing = wait_until(lambda: _hearing_if_waiting())
    assert hearing.status == "sent" and len(sent) == 1
    reply = register_reply("SAG-6", by="anna.byg")
    assert reply.wakes_run
    assert deliver_pending(model=HearingWakeup).delivered == 1
    thread.join(timeout=60)
    assert result["hearing"] == "reply_received" and result["decision"] == "awaiting_signoff"
    assert the_hearing().waiting_run_id is None


def test_a_resume_from_prefects_ui_while_the_reply_is_awaited_is_audited_and_waits_again(
        tmp_path: Path, db_engine: Engine) -> None:
    """Prefect's Resume button is no reply: the run waits again (audited), and the decision
    goes on only when the reply is registered."""
    run, _sent = make_flow(tmp_path, wait="pause")
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(run("SAG-7", [DEBT])), daemon=True)
    thread.start()
    approve(db_engine, wait_until(lambda: _task_if_paused()).id)
    assert deliver_pending().delivered == 1
    hearing = wait_until(lambda: _hearing_if_waiting())
    with get_client(sync_client=True) as client:
        client.resume_flow_run(hearing.waiting_run_id)

    event = wait_until(lambda: _outside_resume_event())
    assert event.details["outcome"] == "waits again" and event.step == "party_hearing"
    wait_until(lambda: _hearing_if_waiting())  # paused again, under the next key
    assert thread.is_alive() and result == {}

    assert register_reply("SAG-7", by="anna.byg").wakes_run
    assert deliver_pending(model=HearingWakeup).delivered == 1
    thread.join(timeout=60)
    assert result["hearing"] == "reply_received" and result["decision"] == "awaiting_signoff"
    with reading() as session:  # one audit event for the one resume
        assert len(session.scalars(select(AuditEvent).where(
            AuditEvent.action == HEARING_OUTSIDE_RESUME)).all()) == 1


def _outside_resume_event() -> AuditEvent | None:
    with reading() as session:
        return session.scalars(select(AuditEvent).where(
            AuditEvent.action == HEARING_OUTSIDE_RESUME)).first()


def _task_if_paused() -> SignoffTask | None:
    with reading() as session:
        task = session.scalars(select(SignoffTask)).first()
    return task if task is not None and _paused(task.flow_run_id) else None


def _hearing_if_waiting() -> PartyHearing | None:
    with reading() as session:
        hearing = session.scalars(select(PartyHearing)).first()
    if hearing is None or hearing.waiting_run_id is None:
        return None
    return hearing if _paused(hearing.waiting_run_id) else None


def _paused(flow_run_id: str) -> bool:
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(flow_run_id).state
    return bool(state and state.is_paused())


def wait_until(probe, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.2)
    raise AssertionError("the flow never reached the expected wait")


def test_party_hearing_is_a_reserved_step_name(tmp_path: Path) -> None:
    from casework.policy.errors import PolicyError

    name = f"x_{uuid4().hex[:8]}"
    robot = CaseworkFlow(name, policy_file=tmp_path / f"{name}.yaml")
    with pytest.raises(ValueError, match="reserved"):
        robot.step(name="party_hearing")(lambda case: None)
    (tmp_path / f"{name}.yaml").write_text(
        f"flow: {name}\nsteps:\n  party_hearing:\n    kind: preparatory\n"
        "    mode: signoff\n    manual_minutes: 15\n")
    with pytest.raises(PolicyError, match="inserted by the runtime"):
        robot.policy()


def test_cli_registers_a_reply_and_explains_refusals(tmp_path: Path, db_engine: Engine) -> None:
    from typer.testing import CliRunner

    from casework.cli import app

    run, _ = make_flow(tmp_path)
    run("SAG-7", [DEBT])
    cli = CliRunner()
    refused = cli.invoke(app, ["hearing", "reply", "SAG-7", "--by", "anna.byg"])
    assert refused.exit_code == 1 and "no sent hearing letter" in refused.output
    approve(db_engine, the_hearing().signoff_task_id)
    run("SAG-7", [DEBT])
    done = cli.invoke(app, ["hearing", "reply", "SAG-7", "--by", "anna.byg", "--note", "ok"])
    assert done.exit_code == 0, done.output
    assert "reply registered for" in done.output and "/decide_permit in case c_" in done.output
    assert "SAG-7" not in done.output  # the case id is pseudonymised in what is printed
