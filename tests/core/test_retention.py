"""Retention: personal data of old decided tasks is erased; the audit log, its hash chain and
the pseudonymised ledger stay whole. Real migrated SQLite, the inbox's real decision code."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from casework.audit import verify_chain
from casework.cli import app
from casework.db.models import AuditEvent, DecisionOutbox, LedgerEntry, SignoffTask, TaskView
from casework.db.session import get_engine, reading, transaction
from casework.inbox import decisions, review_time
from casework.inbox.identity import load_user
from casework.inbox.seed import seed_demo_users
from casework.ledger import Mode, Outcome, StepRecord, record_step
from casework.privacy import pseudonymise
from casework.rights.retention import RetentionError, apply_retention
from casework.signoff.tasks import create_signoff_task

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SUMMARY = "Hans Hansen, 120379-1234, søger om carport"
runner = CliRunner()


def _task(case_id: str, *, decided_days_ago: float | None, amend: bool = False) -> str:
    """A sign-off task, decided ``decided_days_ago`` (None: still awaiting)."""
    ledger_id = str(uuid.uuid4())
    created = NOW - timedelta(days=(decided_days_ago or 0) + 1)
    with transaction() as s:
        record_step(s, StepRecord(
            id=ledger_id, flow="journal", flow_run_id=str(uuid.uuid4()), step="classify",
            step_kind="preparatory", case_ref=pseudonymise(case_id), policy_hash="p" * 64,
            mode=Mode.SIGNOFF, outcome=Outcome.AWAITING_SIGNOFF, robot_seconds=1.0,
            baseline_minutes=6.0, department="byggeri", started_at=created))
        s.flush()
        create_signoff_task(
            s, ledger_entry_id=ledger_id, flow="journal", flow_run_id="run", step="classify",
            case_ref=pseudonymise(case_id), department="byggeri", roles=["caseworker"],
            departments=["byggeri"], reasons=["confidence < 0.8"], case_summary=SUMMARY,
            suggestion={"kle": "02.34.02", "title": "Byggetilladelse", "confidence": 0.6,
                        "sources": ["brev fra Hans Hansen"]},
            deadline_hours=None, policy_hash="p" * 64, now=created)
        review_time.open_view(s, ledger_id, "anna.byg", created)
    if decided_days_ago is not None:
        with reading() as s:
            anna = load_user(s, "anna.byg")
        decisions.decide(get_engine(), anna, ledger_id,
                         decision="amended" if amend else "approved", version=1,
                         reason="Hans Hansen har ringet" if amend else None,
                         value={"kle": "02.34.24", "title": "Carporte"} if amend else None,
                         now=NOW - timedelta(days=decided_days_ago))
    return ledger_id


@pytest.fixture
def tasks(db_engine) -> dict[str, str]:
    seed_demo_users()
    return {"old": _task("SAG-1", decided_days_ago=200, amend=True),
            "recent": _task("SAG-2", decided_days_ago=100),
            "open": _task("SAG-3", decided_days_ago=None)}


def _counts() -> tuple[int, int, int]:
    with reading() as s:
        return (s.scalar(select(func.count()).select_from(AuditEvent)),
                s.scalar(select(func.count()).select_from(TaskView)),
                s.scalar(select(func.count()).select_from(LedgerEntry)))


def test_old_decided_tasks_lose_their_personal_data_and_nothing_else(tasks) -> None:
    with reading() as s:
        ledger_before = {e.id: (e.outcome, e.saved_minutes, e.human_seconds)
                         for e in s.scalars(select(LedgerEntry))}
    report = apply_retention(now=NOW)
    assert (report.retention_days, report.tasks_erased, report.task_views_deleted,
            report.outbox_rows_erased) == (183, 1, 1, 0)  # the outbox row is still pending

    with reading() as s:
        old = s.get(SignoffTask, tasks["old"])
        assert old.payload == {"signoff_reasons": ["confidence < 0.8"], "confidence": 0.6,
                               "policy_hash": "p" * 64, "erased": "retention",
                               "at": "2026-11-23T12:00:00+00:00"}
        assert old.decision_value == {"erased": "retention", "at": "2026-11-23T12:00:00+00:00"}
        assert old.decision_reason is None
        assert (old.decision, old.decided_by) == ("amended", "anna.byg")
        for key in ("recent", "open"):
            assert s.get(SignoffTask, tasks[key]).payload["case_summary"] == SUMMARY
        views = s.scalars(select(TaskView.signoff_task_id)).all()
        assert sorted(views) == sorted([tasks["recent"], tasks["open"]])
        assert {e.id: (e.outcome, e.saved_minutes, e.human_seconds)
                for e in s.scalars(select(LedgerEntry))} == ledger_before
        event = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        assert (event.action, event.actor) == ("retention.applied", "system:retention")
        assert event.details["tasks_erased"] == 1 and event.details["task_views_deleted"] == 1
        assert verify_chain(s).ok

    again = apply_retention(now=NOW)  # already erased: nothing more to do
    assert again.tasks_erased == 0


def test_delivered_outbox_rows_lose_the_value_and_reason(tasks) -> None:
    with transaction() as s:
        row = s.scalars(select(DecisionOutbox)
                        .where(DecisionOutbox.signoff_task_id == tasks["old"])).one()
        row.status = "delivered"
    assert apply_retention(now=NOW).outbox_rows_erased == 1
    with reading() as s:
        row = s.scalars(select(DecisionOutbox)
                        .where(DecisionOutbox.signoff_task_id == tasks["old"])).one()
    assert "value" not in row.run_input and "reason" not in row.run_input
    assert row.run_input["decision"] == "amended" and row.run_input["erased"] == "retention"


def test_dry_run_changes_nothing(tasks) -> None:
    before = _counts()
    result = runner.invoke(app, ["retention", "apply", "--dry-run", "--no-prefect"])
    assert result.exit_code == 0, result.output
    # The CLI runs at today's date; the fixture's dates are relative to NOW.
    assert "would erase" in result.output and "retention 183 days" in result.output
    report = apply_retention(now=NOW, dry_run=True)
    assert report.tasks_erased == 1 and _counts() == before
    with reading() as s:
        assert s.get(SignoffTask, tasks["old"]).payload["case_summary"] == SUMMARY


def test_a_retention_below_six_months_is_refused(tasks, monkeypatch) -> None:
    from casework.settings import reset_settings_cache

    monkeypatch.setenv("CASEWORK_RETENTION_DAYS", "30")
    reset_settings_cache()
    before = _counts()
    result = runner.invoke(app, ["retention", "apply", "--no-prefect"])
    assert result.exit_code == 2
    assert "CASEWORK_RETENTION_DAYS=30 is below 183 days" in result.output
    assert "Nothing was erased" in result.output and _counts() == before
    with pytest.raises(RetentionError):
        apply_retention(days=182, now=NOW)


def test_a_longer_retention_keeps_more(tasks) -> None:
    assert apply_retention(days=365, now=NOW).tasks_erased == 0
    assert apply_retention(days=199, now=NOW).tasks_erased == 1  # decided 200 days ago


def test_old_inbox_login_sessions_are_deleted_and_live_ones_kept(tasks) -> None:
    from casework.db.models import InboxSession
    from casework.inbox import sessions

    with transaction() as s:
        anna = load_user(s, "anna.byg")
        old = sessions.create(s, anna, now=NOW - timedelta(days=200), id_token="eyJ.old.token")
        live = sessions.create(s, anna, now=NOW - timedelta(hours=1))
    assert apply_retention(now=NOW, dry_run=True).sessions_deleted == 1
    report = apply_retention(now=NOW)
    assert report.sessions_deleted == 1
    with reading() as s:
        assert s.get(InboxSession, sessions.digest(old.token)) is None
        assert s.get(InboxSession, sessions.digest(live.token)) is not None
        event = s.scalars(select(AuditEvent).where(
            AuditEvent.action == "retention.applied")).one()
    assert event.details["sessions_deleted"] == 1
