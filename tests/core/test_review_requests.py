"""A citizen's request for human review lands with a person who took no part in the case, and
the inbox refuses the people who did (real runtime, real Prefect API, real SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest
from case_history import run_case
from sqlalchemy import select, update
from typer.testing import CliRunner

from casework.audit import verify_chain
from casework.cli import app
from casework.db.models import AuditEvent, DecisionOutbox, InboxUser, LedgerEntry, SignoffTask
from casework.db.session import get_engine, reading, transaction
from casework.inbox import decisions
from casework.inbox.identity import load_user
from casework.rights.explain import explain_case
from casework.rights.review import ReviewError, request_review

pytestmark = pytest.mark.usefixtures("prefect_api", "db_engine")
runner = CliRunner()


def _user(user_id: str):
    with reading() as s:
        user = load_user(s, user_id)
    assert user is not None
    return user


def test_review_lands_with_a_person_who_took_no_part(tmp_path: Path) -> None:
    tasks = run_case(tmp_path, "SAG-R-1")
    review = request_review("SAG-R-1", step=None, requested_via="letter",
                            reason="Jeg mener carporten er under 40 m2", registered_by="anna.byg")
    # The decision step is reviewed by default; Anna amended, Lise decided: Bo is left.
    assert (review.kind, review.step, review.claimed_by) == ("review", "decide_permit", "bo.byg")
    assert review.status == "awaiting" and review.department == "byggeri"
    assert review.payload["review_of"]["signoff_task_id"] == tasks["decide_permit"]
    assert "Teamleder Lise Teamleder godkendte forslaget" in review.payload["explanation_text"]
    assert [s["step"] for s in review.payload["history"]["steps"]] == [
        "route_case", "suggest_journal", "decide_permit"]
    with reading() as s:
        row = s.get(LedgerEntry, review.ledger_entry_id)
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "review.requested")).one()
    assert (row.mode, row.baseline_minutes, row.step) == ("manual", 0.0, "decide_permit")
    assert event.details["assigned_to"] == "bo.byg" and event.actor == "anna.byg"
    assert "40 m2" not in str(event.details)  # the citizen's reason stays out of the audit log

    # A named step: the journal placement, amended by Anna.
    journal = request_review("SAG-R-1", step="suggest_journal", requested_via="phone",
                             reason="Forkert journalnummer")
    assert journal.step == "suggest_journal" and journal.claimed_by == "bo.byg"
    assert journal.payload["suggestion"]["kle"] == "02.34.24"  # what was used: the amendment


def test_participants_are_refused_and_the_reviewer_decides(tmp_path: Path) -> None:
    run_case(tmp_path, "SAG-R-2")
    review = request_review("SAG-R-2", step=None, requested_via="email", reason="Uenig")
    engine = get_engine()
    for participant in ("lise.leder", "anna.byg"):
        with pytest.raises(decisions.Refused) as refused:
            decisions.decide(engine, _user(participant), review.id, decision="rejected",
                             version=1, reason="jeg har ret")
        assert refused.value.key == "review_participant_refused"
    with pytest.raises(decisions.Refused):  # a team lead cannot hand it to a participant
        decisions.release(engine, _user("lise.leder"), review.id,
                          reassign_to=_user("anna.byg"))

    result = decisions.decide(engine, _user("bo.byg"), review.id, decision="approved",
                              version=1)
    assert result.outbox_id is None
    with reading() as s:
        task = s.get(SignoffTask, review.id)
        assert (task.status, task.decision, task.decided_by) == ("decided", "approved", "bo.byg")
        assert s.scalars(select(DecisionOutbox)
                         .where(DecisionOutbox.signoff_task_id == review.id)).first() is None
        assert s.scalars(select(AuditEvent.action)).all()[-1] == "review.approved"
        assert verify_chain(s).ok
    text = explain_case("SAG-R-2", language="en").text
    assert "Step 4: a person reviews the step \u201cdecide permit\u201d again" in text
    assert "Caseworker Bo Byggesag reviewed the step on" in text


def test_left_unassigned_when_only_participants_may_sign_off(tmp_path: Path) -> None:
    run_case(tmp_path, "SAG-R-3")
    with transaction() as s:
        s.execute(update(InboxUser).where(InboxUser.id == "bo.byg").values(active=False))
    result = runner.invoke(app, ["review", "request", "SAG-R-3", "--reason", "Uenig",
                                 "--via", "digital_post", "--by", "lise.leder"])
    assert result.exit_code == 0, result.output
    assert "nobody eligible: left unassigned in the team queue" in result.output
    with reading() as s:
        review = s.scalars(select(SignoffTask).where(SignoffTask.kind == "review")).one()
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "review.requested")).one()
    assert review.claimed_by is None and review.status == "awaiting"
    assert event.details["assigned_to"] is None
    assert "took no part" in event.details["unassigned_reason"]
    with pytest.raises(decisions.Refused):  # nor may a participant claim it from the queue
        decisions.claim(get_engine(), _user("anna.byg"), review.id)


def test_bad_requests_are_refused_with_a_clear_message(tmp_path: Path) -> None:
    run_case(tmp_path, "SAG-R-4")
    with pytest.raises(ReviewError, match="no automated step 'nope'.*decide_permit"):
        request_review("SAG-R-4", step="nope", requested_via="letter", reason="x")
    with pytest.raises(ReviewError, match="requested_via must be one of"):
        request_review("SAG-R-4", step=None, requested_via="pigeon", reason="x")
    with pytest.raises(ReviewError, match="reason"):
        request_review("SAG-R-4", step=None, requested_via="letter", reason="  ")
    missing = runner.invoke(app, ["review", "request", "SAG-NONE", "--reason", "x"])
    assert missing.exit_code == 1 and "no recorded step" in missing.output
