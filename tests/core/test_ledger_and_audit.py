"""Ledger arithmetic and the audit hash chain, on a real migrated SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select, update

from casework import audit, ledger
from casework.db.models import AuditEvent, LedgerEntry
from casework.db.session import reading, transaction
from casework.ledger import Mode, Outcome, StepRecord


@pytest.mark.parametrize(
    ("outcome", "human_seconds", "expected"),
    [
        (Outcome.COMPLETED, 0, 6.0),
        (Outcome.APPROVED, 90, 4.5),
        (Outcome.AMENDED, 30, 5.5),
        (Outcome.REJECTED, 60, -1.0),  # the review was a cost, the robot's work was not used
        (Outcome.FAILED, 0, 0.0),
        (Outcome.MANUAL, 0, 0.0),
        (Outcome.AWAITING_SIGNOFF, 0, 0.0),
        (Outcome.APPROVED, 600, -4.0),  # a review slower than the baseline shows as a loss
    ],
)
def test_saved_minutes(outcome: Outcome, human_seconds: float, expected: float) -> None:
    assert ledger.saved_minutes(outcome, 6.0, human_seconds) == expected


def _record(**overrides: object) -> StepRecord:
    values: dict[str, object] = {
        "id": "00000000-0000-0000-0000-000000000001", "flow": "f", "flow_run_id": "run-1",
        "step": "s", "step_kind": "preparatory", "case_ref": "c_" + "a" * 24,
        "policy_hash": "h" * 64, "mode": Mode.SIGNOFF, "outcome": Outcome.AWAITING_SIGNOFF,
        "robot_seconds": 0.2, "baseline_minutes": 6.0, "started_at": datetime.now(UTC),
    }
    values.update(overrides)
    return StepRecord.model_validate(values)


def test_decision_fills_human_time_and_savings(db_engine) -> None:
    with transaction() as session:
        ledger.record_step(session, _record())
    with transaction() as session:
        ledger.record_decision(session, _record().id, Outcome.APPROVED, human_seconds=120)
    with reading() as session:
        row = session.get(LedgerEntry, _record().id)
        assert (row.outcome, row.human_seconds, row.saved_minutes) == ("approved", 120, 4.0)
        assert row.decided_at is not None


def test_rerecording_a_step_run_keeps_one_row(db_engine) -> None:
    with transaction() as session:
        ledger.record_step(session, _record(outcome=Outcome.FAILED, mode=Mode.AUTONOMOUS))
    with transaction() as session:
        ledger.record_step(session, _record(outcome=Outcome.COMPLETED, mode=Mode.AUTONOMOUS))
    with reading() as session:
        rows = session.scalars(select(LedgerEntry)).all()
        assert [(r.outcome, r.saved_minutes) for r in rows] == [("completed", 6.0)]


def test_case_ref_must_be_pseudonymised() -> None:
    with pytest.raises(ValueError, match="case_ref"):
        _record(case_ref="SAG-2026-0001")


def _append(n: int) -> None:
    with transaction() as session:
        for i in range(n):
            audit.append(session, actor="robot:f", action="step.completed", flow="f",
                         step="s", case_ref="c_" + "b" * 24, details={"i": i})


def _verify():
    with reading() as session:
        return audit.verify_chain(session)


def test_audit_chain_intact(db_engine) -> None:
    _append(5)
    report = _verify()
    assert report.ok and report.events == 5


def test_audit_chain_detects_an_edited_row(db_engine) -> None:
    _append(5)
    with transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 3)
                        .values(details={"i": 99}))
    report = _verify()
    assert not report.ok and report.first_bad_seq == 3 and "edited" in report.problem


def test_audit_chain_detects_a_deleted_row(db_engine) -> None:
    _append(5)
    with transaction() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
    report = _verify()
    assert not report.ok and "missing" in report.problem


def test_audit_chain_detects_a_deleted_tail(db_engine) -> None:
    _append(5)
    with transaction() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.seq == 5))
    report = _verify()
    assert not report.ok and "newest" in report.problem


def test_audit_chain_detects_reordered_rows(db_engine) -> None:
    _append(4)
    with transaction() as session:
        two, three = (session.get(AuditEvent, 2), session.get(AuditEvent, 3))
        fields = ("at", "actor", "action", "details", "prev_hash", "hash")
        a = {f: getattr(two, f) for f in fields}
        b = {f: getattr(three, f) for f in fields}
        session.execute(update(AuditEvent).where(AuditEvent.seq == 2)
                        .values(hash="x" * 64))  # free the unique hash first
        session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(**a))
        session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(**b))
    report = _verify()
    assert not report.ok and report.first_bad_seq == 2


def test_audit_chain_detects_a_deleted_row_with_the_rest_renumbered(db_engine) -> None:
    """Closing the gap after a deletion does not hide it: the next row's link is broken."""
    _append(5)
    with transaction() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
        for seq in (3, 4, 5):
            session.execute(update(AuditEvent).where(AuditEvent.seq == seq)
                            .values(seq=seq - 1))
        session.execute(update(audit.AuditHead).values(last_seq=4))
    report = _verify()
    assert not report.ok and report.first_bad_seq == 2 and "link broken" in report.problem


def test_audit_chain_detects_an_edited_time_or_actor(db_engine) -> None:
    _append(3)
    with transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 2)
                        .values(at=datetime(2020, 1, 1, tzinfo=UTC)))
    assert _verify().first_bad_seq == 2


@pytest.mark.parametrize("tamper", ["delete", "reorder"])
def test_cli_audit_verify_catches_a_deleted_and_a_reordered_row(db_engine, tamper: str) -> None:
    from typer.testing import CliRunner

    from casework.cli import app

    _append(4)
    with transaction() as session:
        if tamper == "delete":
            session.execute(delete(AuditEvent).where(AuditEvent.seq == 3))
        else:  # swap the content of rows 2 and 3, keeping their numbers
            two, three = session.get(AuditEvent, 2), session.get(AuditEvent, 3)
            fields = ("at", "actor", "action", "details", "prev_hash", "hash")
            a, b = ({f: getattr(r, f) for f in fields} for r in (two, three))
            session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(hash="x" * 64))
            session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(**a))
            session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(**b))
    result = CliRunner().invoke(app, ["audit", "verify"])
    expected = "event 3 is missing" if tamper == "delete" else \
        "BROKEN at event 2"
    assert result.exit_code == 1 and expected in result.output
