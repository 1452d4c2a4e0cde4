"""The step runtime on a real Prefect API and a real SQLite ledger."""

from __future__ import annotations

import textwrap
from pathlib import Path
from uuid import uuid4

import pytest
from pydantic import BaseModel
from sqlalchemy import select, text

from casework.case import Case
from casework.db.models import AuditEvent, LedgerEntry, PolicyVersion, SignoffTask
from casework.db.session import reading
from casework.policy.errors import PolicyError
from casework.runtime import CaseworkFlow, NotApproved, require_signoff

pytestmark = pytest.mark.usefixtures("prefect_api", "db_engine")

CPR = "120379-1234"


class Suggestion(BaseModel):
    kle: str
    confidence: float
    why: list[str] = []


def write_policy(tmp_path: Path, flow: str, steps_yaml: str) -> Path:
    path = tmp_path / f"{flow}.yaml"
    path.write_text(f"flow: {flow}\nsteps:\n" + textwrap.indent(textwrap.dedent(steps_yaml), "  "))
    return path


def make_flow(tmp_path: Path, steps_yaml: str, calls: list[str] | None = None):
    """A two-step flow (gather → suggest) under its own policy file."""
    name = f"t_{uuid4().hex[:8]}"
    robot = CaseworkFlow(name, policy_file=write_policy(tmp_path, name, steps_yaml))
    calls = calls if calls is not None else []

    @robot.step(kind="preparatory")
    def gather(case: Case, text_: str) -> dict:
        calls.append("gather")
        return {"length": len(text_)}

    @robot.step(kind="preparatory")
    def suggest(case: Case, confidence: float) -> Suggestion:
        calls.append("suggest")
        if confidence < 0:
            raise ValueError(f"bad input for {case.id}")  # message holds a case id: never logged
        return Suggestion(kle="02.34.02", confidence=confidence, why=["byggetilladelse"])

    @robot.flow()
    def run(items: list[tuple[str, float, dict]]) -> list[str]:
        statuses = []
        for case_id, confidence, attributes in items:
            case = Case(id=case_id, department="byg", attributes=attributes,
                        summary=f"Borger {CPR} søger om carport")
            require_signoff(gather(case, "letter text"))
            decision = require_signoff(suggest(case, confidence))
            statuses.append(decision.status.value)
        return statuses

    return robot, run


POLICY = """\
gather:
  kind: preparatory
  mode: autonomous
  manual_minutes: 3
suggest:
  kind: preparatory
  mode: autonomous
  manual_minutes: 6
  deadline_hours: 48
  signoff_when:
    - confidence < 0.6
    - case.sensitive
"""


def rows() -> list[LedgerEntry]:
    with reading() as session:
        return list(session.scalars(select(LedgerEntry).order_by(LedgerEntry.started_at)))


def test_autonomous_and_signoff_steps_write_measured_ledger_rows(tmp_path: Path) -> None:
    robot, run = make_flow(tmp_path, POLICY)
    statuses = run([("SAG-1", 0.9, {"sensitive": False}), ("SAG-2", 0.3, {"sensitive": False}),
                    ("SAG-3", 0.95, {"sensitive": True})])
    assert statuses == ["completed", "awaiting_signoff", "awaiting_signoff"]

    entries = rows()
    assert len(entries) == 6
    by_step = {(e.case_ref, e.step): e for e in entries}
    policy_hash = robot.policy().hash
    for e in entries:
        assert e.policy_hash == policy_hash and e.flow == robot.name
        assert e.robot_seconds >= 0 and e.human_seconds == 0 and e.department == "byg"
        assert e.case_ref.startswith("c_") and "SAG" not in e.case_ref
    first = Case(id="SAG-1").ref
    assert by_step[(first, "suggest")].outcome == "completed"
    assert by_step[(first, "suggest")].saved_minutes == 6.0
    assert by_step[(first, "suggest")].kle_subject == "02.34.02"  # a used result names the KLE
    assert by_step[(first, "gather")].saved_minutes == 3.0
    low = by_step[(Case(id="SAG-2").ref, "suggest")]
    assert (low.mode, low.outcome, low.saved_minutes) == ("signoff", "awaiting_signoff", 0.0)
    assert low.reasons == ["signoff_when: confidence < 0.6"]
    assert low.kle_subject is None  # not confirmed by anyone yet
    assert by_step[(Case(id="SAG-3").ref, "suggest")].reasons == ["signoff_when: case.sensitive"]

    with reading() as session:
        tasks = session.scalars(select(SignoffTask)).all()
        assert {t.case_ref for t in tasks} == {Case(id="SAG-2").ref, Case(id="SAG-3").ref}
        task = next(t for t in tasks if t.case_ref == Case(id="SAG-2").ref)
        assert task.status == "awaiting" and task.department == "byg"
        assert task.payload["suggestion"]["kle"] == "02.34.02"
        assert task.payload["confidence"] == 0.3 and task.payload["why"] == ["byggetilladelse"]
        assert task.deadline is not None and task.ledger_entry_id == low.id
        assert session.get(PolicyVersion, policy_hash).content == robot.policy_file.read_text()
        actions = [e.action for e in session.scalars(select(AuditEvent))]
        assert actions.count("step.awaiting_signoff") == 2 and "policy.first_used" in actions


def test_value_of_unapproved_work_cannot_be_used(tmp_path: Path) -> None:
    robot, _ = make_flow(tmp_path, POLICY)
    from casework.ledger import Mode
    from casework.runtime import StepOutcome

    outcome = StepOutcome(flow="f", step="suggest", case_ref="c_x", mode=Mode.SIGNOFF,
                          result=Suggestion(kle="02.34.02", confidence=0.1), ledger_id="1")
    decision = require_signoff(outcome)
    assert not decision.proceed
    with pytest.raises(NotApproved, match="awaiting_signoff"):
        _ = decision.value


def test_manual_step_is_not_run_by_the_robot(tmp_path: Path) -> None:
    calls: list[str] = []
    _, run = make_flow(tmp_path, POLICY.replace("  mode: autonomous\n  manual_minutes: 6",
                                                "  mode: manual\n  manual_minutes: 6"), calls)
    assert run([("SAG-9", 0.9, {})]) == ["manual"]
    assert calls == ["gather"]
    manual = [e for e in rows() if e.step == "suggest"][0]
    assert (manual.mode, manual.outcome, manual.saved_minutes) == ("manual", "manual", 0.0)


def test_missing_fact_sends_the_case_to_signoff(tmp_path: Path) -> None:
    _, run = make_flow(tmp_path, POLICY)
    assert run([("SAG-4", 0.9, {})]) == ["awaiting_signoff"]  # case.sensitive unknown
    entry = [e for e in rows() if e.step == "suggest"][0]
    assert entry.reasons == ["could not evaluate: case.sensitive"]


def test_failed_step_saves_nothing_and_keeps_earlier_rows(tmp_path: Path) -> None:
    _, run = make_flow(tmp_path, POLICY)
    with pytest.raises(ValueError):
        run([("SAG-5", -1.0, {"sensitive": False})])
    entries = {e.step: e for e in rows()}
    assert entries["gather"].outcome == "completed"  # committed before the failure
    failed = entries["suggest"]
    assert (failed.outcome, failed.saved_minutes, failed.error) == ("failed", 0.0, "ValueError")


def test_policy_change_never_rewrites_past_savings(tmp_path: Path) -> None:
    robot, run = make_flow(tmp_path, POLICY)
    run([("SAG-6", 0.9, {"sensitive": False})])
    old_hash = robot.policy().hash
    robot.policy_file.write_text(robot.policy_file.read_text().replace("manual_minutes: 6",
                                                                       "manual_minutes: 10"))
    run([("SAG-7", 0.9, {"sensitive": False})])
    suggest_rows = [e for e in rows() if e.step == "suggest"]
    assert [(e.baseline_minutes, e.saved_minutes) for e in suggest_rows] == [(6, 6), (10, 10)]
    assert suggest_rows[0].policy_hash == old_hash != suggest_rows[1].policy_hash


def test_flow_refuses_to_start_when_a_step_has_no_policy(tmp_path: Path) -> None:
    _, run = make_flow(tmp_path, POLICY.split("suggest:")[0])
    with pytest.raises(PolicyError, match="step 'suggest' of flow 't_[0-9a-f]+' has no policy"):
        run([("SAG-8", 0.9, {})])
    assert rows() == []


def test_no_cpr_or_case_id_reaches_ledger_audit_or_artifacts(tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    robot, run = make_flow(tmp_path, POLICY)
    run([(f"SAG-{CPR}", 0.3, {"sensitive": False})])
    with reading() as session:
        dump = [str(r) for table in ("ledger_entries", "audit_events")
                for r in session.execute(text(f"SELECT * FROM {table}"))]  # noqa: S608
    assert dump and not any(CPR in line or "0379" in line for line in dump)
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=[f"savings-{robot.name.replace('_', '-')}"])))
    assert artifacts, "each run publishes its savings as a Prefect table artifact"
    body = str(artifacts[0].data)
    assert "suggest" in body and CPR not in body and "SAG" not in body
