"""Accuracy at a policy's confidence threshold, measured on the step's judged suggestions: the
threshold read from the policy in force (stored in the database), the split at it, the window,
and the reader shared with earned autonomy."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from casework.db.models import LedgerEntry, PolicyActivation, PolicyVersion
from casework.db.session import reading, transaction
from casework.oversight.autonomy import agreement_stats
from casework.oversight.threshold_accuracy import (
    DEFAULT_WINDOW,
    confidence_threshold,
    policies_in_force,
    threshold_accuracy,
    threshold_rows,
)
from casework.policy.conditions import parse_condition
from casework.signoff.tasks import create_signoff_task

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def judged(engine: Engine, flow: str, step: str, confidence: float | None,
           decision: str | None, minute: int, kind: str = "signoff") -> None:
    """A sign-off task of ``flow.step`` whose suggestion had ``confidence``, decided at
    T0 + ``minute`` (None: still awaiting)."""
    ledger_id = str(uuid.uuid4())
    suggestion = {"kle": "02.34.02", "title": "Byggetilladelse"}
    if confidence is not None:
        suggestion["confidence"] = confidence
    with transaction(engine) as s:
        s.add(LedgerEntry(
            id=ledger_id, flow=flow, flow_run_id=str(uuid.uuid4()), step=step,
            step_kind="preparatory", case_ref=f"C{minute}", policy_hash="p" * 64,
            mode="signoff", outcome="awaiting_signoff", robot_seconds=1.0, human_seconds=0.0,
            baseline_minutes=6.0, saved_minutes=0.0, department="byggeri", reasons=[],
            started_at=T0, finished_at=T0))
        s.flush()
        task = create_signoff_task(
            s, ledger_entry_id=ledger_id, flow=flow, flow_run_id=str(uuid.uuid4()), step=step,
            case_ref=f"C{minute}", department="byggeri", roles=["caseworker"],
            departments=["byggeri"], suggestion=suggestion, reasons=[], case_summary=None,
            deadline_hours=None, policy_hash="p" * 64, now=T0, kind=kind)
        if decision is not None:
            task.status, task.decision = "decided", decision
            task.decided_at, task.decided_by = T0 + timedelta(minutes=minute), "anna.byg"


def store_policy(engine: Engine, flow: str, text: str, seen: datetime,
                 activate: bool = False) -> str:
    import hashlib

    policy_hash = hashlib.sha256(text.encode()).hexdigest()
    with transaction(engine) as s:
        s.add(PolicyVersion(hash=policy_hash, flow=flow, path=f"policies/{flow}.yaml",
                            content=text, first_seen_at=seen))
        if activate:
            s.flush()
            s.add(PolicyActivation(flow=flow, policy_hash=policy_hash, scenarios_hash="s" * 64,
                                   scenarios_text="", scenarios_passed=1, activated_by="lead",
                                   activated_at=seen))
    return policy_hash


@pytest.mark.parametrize(("conditions", "expected"), [
    (["confidence < 0.8", "case.sensitive"], 0.8),
    (["case.sensitive or confidence <= 0.7"], 0.7),
    (["0.65 > confidence"], 0.65),
    (["confidence < 0.5", "confidence < 0.9"], 0.9),
    (["case.sensitive", "result.unsure"], None),
    (["confidence > 0.5"], None),  # asks a person when sure: not a threshold of this kind
    (["confidence < 0.8 and case.sensitive"], None),  # only together with something else
])
def test_the_threshold_is_read_from_the_sign_off_conditions(conditions, expected) -> None:
    assert confidence_threshold([parse_condition(c) for c in conditions]) == expected


def test_judged_suggestions_split_at_the_threshold(db_engine: Engine) -> None:
    flow, step = "journal_placement", "suggest_journal"
    # at or above 0.8: 3 kept of 4 (sensitive cases and audit samples a person saw anyway)
    for minute, (conf, decision) in enumerate([(0.93, "approved"), (0.8, "approved"),
                                               (0.85, "amended"), (0.99, "approved")]):
        judged(db_engine, flow, step, conf, decision, minute)
    # below: 2 kept of 5, shadow answers count, a citizen's review request does not
    for minute, (conf, decision) in enumerate([(0.41, "approved"), (0.79, "rejected"),
                                               (0.5, "amended"), (0.2, "rejected")], start=10):
        judged(db_engine, flow, step, conf, decision, minute)
    judged(db_engine, flow, step, 0.6, "approved", 20, kind="shadow")
    judged(db_engine, flow, step, 0.3, "approved", 21, kind="review")
    judged(db_engine, flow, step, None, "approved", 22)  # no confidence recorded
    judged(db_engine, flow, step, 0.95, None, 23)  # still awaiting
    judged(db_engine, flow, step, 0.95, "escalated", 24)  # a deadline, not a judgement
    judged(db_engine, flow, "read_letter", 0.95, "rejected", 25)  # another step

    with reading(db_engine) as s:
        got = threshold_accuracy(s, flow, step, 0.8, window=100)
        stats = agreement_stats(s, flow, step, 100)
    assert (got.above, got.above_kept, got.below, got.below_kept, got.unknown) == (4, 3, 5, 2, 1)
    assert got.above_rate == 0.75 and got.below_rate == 0.4
    # the same decisions earned autonomy counts: 10 judged, 6 kept
    assert (stats.decisions, stats.kept) == (got.decisions, got.kept) == (10, 6)

    with reading(db_engine) as s:  # the window holds the newest decisions only
        newest = threshold_accuracy(s, flow, step, 0.8, window=3)
    assert (newest.above, newest.below, newest.below_kept, newest.unknown) == (0, 2, 1, 1)
    assert newest.above_rate is None


def test_rows_come_from_the_policy_in_force(db_engine: Engine) -> None:
    journal = (REPO / "policies" / "journal_placement.yaml").read_text(encoding="utf-8")
    routing = (REPO / "policies" / "routing.yaml").read_text(encoding="utf-8")
    earlier = routing.replace("confidence < 0.8", "confidence < 0.7")
    store_policy(db_engine, "journal_placement", journal, T0)
    # routing: the activated version counts, not a newer one a developer's run used
    store_policy(db_engine, "routing", earlier, T0, activate=True)
    store_policy(db_engine, "routing", routing, T0 + timedelta(days=1))
    judged(db_engine, "routing", "suggest_department", 0.75, "approved", 1)
    judged(db_engine, "routing", "suggest_department", 0.65, "rejected", 2)

    with reading(db_engine) as s:
        rows = threshold_rows(s)
        only_routing = threshold_rows(s, "routing")
        assert [p.flow for p in policies_in_force(s)] == ["journal_placement", "routing"]
    assert [(r.flow, r.step, r.threshold, r.window) for r in rows] == [
        ("journal_placement", "suggest_journal", 0.8, DEFAULT_WINDOW),
        ("routing", "suggest_department", 0.7, DEFAULT_WINDOW)]
    assert only_routing == rows[1:]
    assert (rows[1].above, rows[1].above_kept, rows[1].below, rows[1].below_kept) == (1, 1, 1, 0)


def test_a_step_with_earned_autonomy_is_measured_over_its_window(db_engine: Engine) -> None:
    text = ("flow: earn\nsteps:\n  suggest:\n    kind: preparatory\n    mode: autonomous\n"
            "    manual_minutes: 6\n    signoff_when: ['confidence < 0.9']\n"
            "    autonomy: {earned: true, min_agreement: 0.8, window: 10}\n")
    store_policy(db_engine, "earn", text, T0)
    for minute in range(12):
        judged(db_engine, "earn", "suggest", 0.95 if minute < 2 else 0.5, "approved", minute)
    with reading(db_engine) as s:
        [row] = threshold_rows(s)
    assert (row.window, row.above, row.below, row.below_rate) == (10, 0, 10, 1.0)
