"""Deciding: ledger, audit and outbox in one transaction; races; four-eyes; claims; restart."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from inbox_helpers import VERSION, csrf_of, decide, new_case_ref, settings
from sqlalchemy import select

from casework.audit import verify_chain
from casework.db.models import AuditEvent, DecisionOutbox, LedgerEntry, SignoffTask
from casework.db.session import reading, transaction
from casework.inbox import decisions, review_time
from casework.inbox.app import create_app
from casework.inbox.identity import load_user


def _user(engine, uid):
    with reading(engine) as s:
        return load_user(s, uid)


def test_approve_writes_task_ledger_audit_and_one_outbox_row(as_user, task_factory, engine):
    task_id = task_factory(baseline=10.0)
    response = decide(as_user("anna.byg"), task_id, "approved")
    assert response.status_code == 303
    with reading(engine) as s:
        task = s.get(SignoffTask, task_id)
        assert (task.status, task.decision, task.decided_by, task.version) == (
            "decided", "approved", "anna.byg", 2)
        entry = s.get(LedgerEntry, task.ledger_entry_id)
        assert entry.outcome == "approved" and entry.decided_at is not None
        assert 0 <= entry.human_seconds < 120
        assert entry.saved_minutes == pytest.approx(10.0 - entry.human_seconds / 60, abs=1e-3)
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "signoff.approved"))
        (event,) = list(events)
        assert event.actor == "anna.byg" and event.case_ref == task.case_ref
        assert event.details["suggested"]["kle"] == "02.34.02"
        assert "Ansøgning" not in str(event.details)  # no case text in the audit log
        assert verify_chain(s).ok
        (row,) = s.scalars(select(DecisionOutbox)).all()
        assert row.signoff_task_id == task_id and row.flow_run_id == task.flow_run_id
        assert row.status == "pending" and row.attempts == 0
        assert row.run_input == {"decision": "approved", "value": None, "reason": None,
                                 "decided_by": "anna.byg",
                                 "human_seconds": entry.human_seconds}
    page = as_user("anna.byg").get(f"/tasks/{task_id}?done=approved")
    assert "Behandlingen er gemt" in page.text


@pytest.mark.parametrize("decision", ["amended", "rejected"])
def test_amend_and_reject_need_a_reason(as_user, task_factory, engine, decision):
    task_id = task_factory()
    response = decide(as_user("anna.byg"), task_id, decision, reason="   ",
                      kle_code="02.00.05")
    assert response.status_code == 400
    assert "Skriv en begrundelse" in response.text
    with reading(engine) as s:
        assert s.get(SignoffTask, task_id).status == "awaiting"
        assert s.query(DecisionOutbox).count() == 0


def test_amend_picks_another_kle_subject(as_user, task_factory, engine):
    task_id = task_factory()
    anna = as_user("anna.byg")
    search = anna.get(f"/tasks/{task_id}", params={"kle_q": "02.34"})
    assert 'value="02.34.18"' in search.text  # a search hit to pick
    assert 'value="02.34.02"' not in search.text  # the suggestion itself is not offered again
    unknown = decide(anna, task_id, "amended", reason="forkert nummer", kle_code="99.99.99")
    assert unknown.status_code == 400
    response = decide(anna, task_id, "amended", reason="Det er en nedrivning",
                      kle_code="02.00.05")
    assert response.status_code == 303
    with reading(engine) as s:
        task = s.get(SignoffTask, task_id)
        assert task.decision == "amended" and task.decision_reason == "Det er en nedrivning"
        assert task.decision_value["kle"] == "02.00.05"
        assert task.decision_value["amended_from"] == "02.34.02"
        assert s.get(LedgerEntry, task.ledger_entry_id).outcome == "amended"
        outbox = s.scalars(select(DecisionOutbox)).one()
        assert outbox.run_input["value"]["kle"] == "02.00.05"
        assert outbox.run_input["reason"] == "Det er en nedrivning"


def test_amend_free_json_for_non_kle_steps(as_user, task_factory, engine):
    task_id = task_factory(suggestion={"reply": "Tak for dit brev"})
    anna = as_user("anna.byg")
    bad = decide(anna, task_id, "amended", reason="ret", value_json="{not json")
    assert bad.status_code == 400
    not_an_object = decide(anna, task_id, "amended", reason="ret", value_json='["a"]')
    assert not_an_object.status_code == 400
    ok = decide(anna, task_id, "amended", reason="ret", value_json='{"reply": "Tak!"}')
    assert ok.status_code == 303
    with reading(engine) as s:
        assert s.get(SignoffTask, task_id).decision_value == {"reply": "Tak!"}


def test_audit_event_never_holds_a_cpr_number(as_user, task_factory, engine):
    task_id = task_factory(suggestion={"reply": "Kære borger (cpr 120379-1234)"})
    assert decide(as_user("anna.byg"), task_id, "rejected",
                  reason="Forkert person, 0305421234").status_code == 303
    with reading(engine) as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "signoff.rejected")).one()
    text = str(event.details)
    assert "120379-1234" not in text and "0305421234" not in text
    assert "XXXXXX-XXXX" in text


def test_reject_counts_no_savings(as_user, task_factory, engine):
    task_id = task_factory(baseline=10.0)
    assert decide(as_user("anna.byg"), task_id, "rejected", reason="forkert").status_code == 303
    with reading(engine) as s:
        entry = s.get(LedgerEntry, task_id)
        assert entry.outcome == "rejected" and entry.saved_minutes <= 0


def test_two_sessions_same_version_exactly_one_wins(as_user, task_factory, engine):
    task_id = task_factory()
    anna, bo = as_user("anna.byg"), as_user("bo.byg")
    pages = [c.get(f"/tasks/{task_id}").text for c in (anna, bo)]
    forms = [{"decision": "approved", "version": VERSION.search(p).group(1),
              "csrf": csrf_of(p)} for p in pages]
    first = anna.post(f"/tasks/{task_id}/decide", data=forms[0], follow_redirects=False)
    second = bo.post(f"/tasks/{task_id}/decide", data={**forms[1], "decision": "rejected",
                                                       "reason": "nej"}, follow_redirects=False)
    assert first.status_code == 303
    assert second.status_code == 409
    assert "Anna Byggesag" in second.text  # the loser is told who decided
    with reading(engine) as s:
        assert s.get(SignoffTask, task_id).decided_by == "anna.byg"
        assert s.query(DecisionOutbox).count() == 1


def test_concurrent_decisions_in_threads(task_factory, engine):
    task_id = task_factory()
    users = [_user(engine, "anna.byg"), _user(engine, "bo.byg"), _user(engine, "lise.leder")]
    barrier = threading.Barrier(len(users))
    results: list[str] = []

    def run(user):
        barrier.wait()
        try:
            decisions.decide(engine, user, task_id, decision="approved", version=1)
            results.append("won")
        except decisions.Refused as exc:
            assert exc.key == "already_decided"
            results.append("lost")

    threads = [threading.Thread(target=run, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["lost", "lost", "won"]
    with reading(engine) as s:
        assert s.query(DecisionOutbox).count() == 1
        assert s.get(SignoffTask, task_id).version == 2
        assert s.query(AuditEvent).filter(AuditEvent.action == "signoff.approved").count() == 1
        assert verify_chain(s).ok


def test_restart_loses_nothing(app, task_factory, engine):
    from inbox_helpers import login

    task_id = task_factory()
    assert decide(login(app, "anna.byg"), task_id, "approved").status_code == 303
    fresh = create_app(settings(), engine=engine)
    page = login(fresh, "anna.byg").get(f"/tasks/{task_id}")
    assert page.status_code == 200
    assert "Anna Byggesag" in page.text and 'name="decision"' not in page.text
    # The same signed session still works on the new instance (same secret key).
    with reading(engine) as s:
        assert s.query(DecisionOutbox).filter_by(signoff_task_id=task_id).count() == 1


def test_four_eyes_refuses_approval_by_earlier_amender(as_user, task_factory, engine):
    case_ref = new_case_ref()
    first = task_factory(case_ref=case_ref, step="classify")
    assert decide(as_user("anna.byg"), first, "amended", reason="rettet",
                  kle_code="02.00.05").status_code == 303
    second = task_factory(case_ref=case_ref, step="decide", four_eyes=True)
    refused = decide(as_user("anna.byg"), second, "approved")
    assert refused.status_code == 403
    assert "fire-øjne" in refused.text
    # Someone else may approve it; and without four_eyes the amender may approve.
    assert decide(as_user("bo.byg"), second, "approved").status_code == 303
    third = task_factory(case_ref=case_ref, step="letter", four_eyes=False)
    assert decide(as_user("anna.byg"), third, "approved").status_code == 303


def test_claim_blocks_others_until_released(as_user, task_factory, engine):
    task_id = task_factory()
    anna, bo, lise = as_user("anna.byg"), as_user("bo.byg"), as_user("lise.leder")
    page = anna.get(f"/tasks/{task_id}")
    assert anna.post(f"/tasks/{task_id}/claim", data={"csrf": csrf_of(page.text)},
                     follow_redirects=False).status_code == 303
    bo_page = bo.get(f"/tasks/{task_id}")
    assert "Anna Byggesag" in bo_page.text  # shows who holds it
    assert 'name="decision"' not in bo_page.text
    blocked = bo.post(f"/tasks/{task_id}/decide",
                      data={"decision": "approved", "version": "1",
                            "csrf": csrf_of(bo_page.text)}, follow_redirects=False)
    assert blocked.status_code == 409 and "Anna Byggesag" in blocked.text
    # Bo may not release someone else's claim; the team lead may reassign it to Bo.
    assert bo.post(f"/tasks/{task_id}/release", data={"csrf": csrf_of(bo_page.text)},
                   follow_redirects=False).status_code == 403
    lise_page = lise.get(f"/tasks/{task_id}")
    assert lise.post(f"/tasks/{task_id}/release",
                     data={"csrf": csrf_of(lise_page.text), "reassign_to": "bo.byg"},
                     follow_redirects=False).status_code == 303
    assert decide(anna, task_id, "approved", version=1).status_code == 409
    assert decide(bo, task_id, "approved").status_code == 303


def test_release_by_team_lead(as_user, task_factory, engine):
    task_id = task_factory()
    anna, lise = as_user("anna.byg"), as_user("lise.leder")
    anna.post(f"/tasks/{task_id}/claim", data={"csrf": csrf_of(anna.get("/queue").text)})
    lise.post(f"/tasks/{task_id}/release", data={"csrf": csrf_of(lise.get("/queue").text)})
    with reading(engine) as s:
        assert s.get(SignoffTask, task_id).claimed_by is None


def test_review_time_counts_active_spans_only(task_factory, engine):
    """An open page that nobody touches counts nothing: only the spans the page reports."""
    task_id = task_factory(baseline=10.0)
    anna = _user(engine, "anna.byg")
    t0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    with transaction(engine) as s:
        view_id = review_time.open_view(s, task_id, anna.id, t0).id
    # +10 s: active the whole time; +20 s: active 3 s of it; +660 s: the page sat idle.
    for offset, spans in ((10, [(10.0, 0.0)]), (20, [(6.0, 3.0)]), (660, [])):
        with transaction(engine) as s:
            assert review_time.heartbeat(s, view_id, task_id, anna.id,
                                         t0 + timedelta(seconds=offset), 120.0, spans)
    # A page cannot claim more than the clock: 500 s "active" within 10 s counts 10 s (+ slack).
    with transaction(engine) as s:
        assert review_time.heartbeat(s, view_id, task_id, anna.id,
                                     t0 + timedelta(seconds=670), 120.0, [(500.0, 0.0)])
    result = decisions.decide(engine, anna, task_id, decision="approved", version=1,
                              now=t0 + timedelta(seconds=675), idle_cap_seconds=120.0)
    assert result.human_seconds == pytest.approx(10 + 3 + 11, abs=0.01)
    with reading(engine) as s:
        entry = s.get(LedgerEntry, task_id)
        assert entry.human_seconds == pytest.approx(24, abs=0.01)
        assert entry.saved_minutes == pytest.approx(10 - 24 / 60, abs=1e-3)


def test_the_same_person_in_two_tabs_counts_once(task_factory, engine):
    task_id = task_factory()
    anna = _user(engine, "anna.byg")
    bo = _user(engine, "bo.byg")
    t0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    with transaction(engine) as s:
        tab1 = review_time.open_view(s, task_id, anna.id, t0).id
        tab2 = review_time.open_view(s, task_id, anna.id, t0 + timedelta(seconds=1)).id
        other = review_time.open_view(s, task_id, bo.id, t0).id
    at = t0 + timedelta(seconds=30)
    with transaction(engine) as s:
        # Tab 1 active 0–20 s, tab 2 active 10–25 s (overlapping), Bo 5 s of his own.
        review_time.heartbeat(s, tab1, task_id, anna.id, at, 120.0, [(30.0, 10.0)])
        review_time.heartbeat(s, tab2, task_id, anna.id, at, 120.0, [(20.0, 5.0)])
        review_time.heartbeat(s, other, task_id, bo.id, at, 120.0, [(5.0, 0.0)])
    result = decisions.decide(engine, anna, task_id, decision="approved", version=1,
                              now=at + timedelta(seconds=1), idle_cap_seconds=120.0)
    assert result.human_seconds == pytest.approx(25 + 5, abs=0.01)  # anna once, plus Bo


def test_spans_are_parsed_strictly():
    assert review_time.parse_spans("8.5,3;2,0") == [(8.5, 3.0), (2.0, 0.0)]
    assert review_time.parse_spans("x;3,8;-1,0;1e9,0;nan,0;,") == []


def test_review_time_without_script_is_capped(task_factory, engine):
    task_id = task_factory()
    anna = _user(engine, "anna.byg")
    t0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    with transaction(engine) as s:
        review_time.open_view(s, task_id, anna.id, t0)
    result = decisions.decide(engine, anna, task_id, decision="approved", version=1,
                              now=t0 + timedelta(hours=3), idle_cap_seconds=120.0)
    assert result.human_seconds == 120.0


def test_reloading_the_page_does_not_count_twice(task_factory, engine):
    task_id = task_factory()
    anna = _user(engine, "anna.byg")
    t0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    for offset in (0, 20, 40):  # three openings (e.g. KLE searches) 20 s apart
        with transaction(engine) as s:
            review_time.open_view(s, task_id, anna.id, t0 + timedelta(seconds=offset))
    result = decisions.decide(engine, anna, task_id, decision="approved", version=1,
                              now=t0 + timedelta(seconds=50), idle_cap_seconds=120.0)
    assert result.human_seconds == pytest.approx(50)


def test_heartbeat_endpoint(as_user, task_factory, engine):
    from inbox_helpers import VIEW

    task_id = task_factory()
    anna = as_user("anna.byg")
    page = anna.get(f"/tasks/{task_id}")
    view_id = VIEW.search(page.text).group(1)
    data = {"csrf": csrf_of(page.text), "view_id": view_id}
    assert anna.post(f"/tasks/{task_id}/heartbeat", data=data).status_code == 204
    assert anna.post(f"/tasks/{task_id}/heartbeat",
                     data={**data, "csrf": "bad"}).status_code == 403
    bo = as_user("bo.byg")  # another user cannot feed someone else's view
    bo_data = {"csrf": csrf_of(bo.get("/queue").text), "view_id": view_id}
    assert bo.post(f"/tasks/{task_id}/heartbeat", data=bo_data).status_code == 404


def test_outbox_row_matches_the_flow_side_contract(as_user, task_factory, engine):
    """What the inbox writes is what ``casework.signoff`` reads and hands to the paused flow."""
    from casework.signoff.decisions import SignoffInput, stored_decision

    task_id = task_factory()
    assert decide(as_user("anna.byg"), task_id, "amended", reason="nedrivning",
                  kle_code="02.34.30").status_code == 303
    with reading(engine) as s:
        row = s.scalars(select(DecisionOutbox)).one()
    from casework.signoff.outbox import wake_input

    woken_with = SignoffInput.model_validate(wake_input(row))  # Prefect gets the task id only
    assert woken_with.task_id == task_id
    assert row.run_input["decision"] == "amended" and row.run_input["value"]["kle"] == "02.34.30"
    stored = stored_decision(task_id)
    assert stored is not None and stored.value == row.run_input["value"]
    assert stored.decided_by == "anna.byg"
