"""Scenario tests, activation (refused when a scenario fails), status and the active hash."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from policy_helpers import WritePolicy
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner, Result

from casework.audit import verify_chain
from casework.db.models import AuditEvent, PolicyActivation, PolicyVersion
from casework.db.session import reading
from casework.policy import load_policy
from casework.policy.activation import activate, active_policy_hash, active_versions
from casework.policy.cli import register
from casework.policy.scenarios import run_scenarios
from casework.settings import reset_settings_cache

REPO = Path(__file__).resolve().parents[2]
POLICY = (REPO / "policies" / "journal_placement.yaml").read_text(encoding="utf-8")
SCENARIOS = (REPO / "policies" / "journal_placement.scenarios.yaml").read_text(encoding="utf-8")
FILE = "policies/journal_placement.scenarios.yaml"


@pytest.fixture
def policy_file(write_policy: WritePolicy) -> Path:
    write_policy(SCENARIOS, "journal_placement.scenarios.yaml")
    return write_policy(POLICY)


def cli(*args: str) -> Result:
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["policy", *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def counts(engine: Engine) -> tuple[int, int, int]:
    with reading(engine) as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(table))
            for table in (PolicyActivation, PolicyVersion, AuditEvent)
        )


def test_repository_scenarios_pass(policy_file: Path) -> None:
    run = run_scenarios(load_policy(policy_file))
    assert run.passed and len(run.results) == 5
    assert run.lines()[2] == f"pass  {FILE}:19  An unsure suggestion waits for a caseworker"


def test_a_loosened_policy_fails_its_scenarios(write_policy: WritePolicy,
                                               policy_file: Path) -> None:
    write_policy(POLICY.replace("      - case.sensitive\n", ""))
    result = cli("test", str(policy_file))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[3] == (
        f"FAIL  {FILE}:27  A sensitive letter waits for a caseworker however sure the suggestion "
        "is: suggest_journal: expected signoff, got autonomous"
    )
    assert lines[4].startswith(f"FAIL  {FILE}:35  A letter whose sensitivity is unknown")
    assert lines[-1] == "ran 5 scenarios: 3 passed, 2 failed"


def test_scenario_file_problems_name_file_line_and_field(write_policy: WritePolicy) -> None:
    path = write_policy(POLICY)
    write_policy("flow: journal_placement\nscenarios:\n  - name: x\n    steps:\n"
                 "      sign_letter: {expect: autonomous}\n"
                 "      read_letter: {expect: automatic}\n", "journal_placement.scenarios.yaml")
    assert run_scenarios(load_policy(path)).lines() == [
        f"{FILE}:6: scenarios[0].steps.read_letter.expect: must be one of autonomous, signoff, "
        "manual, shadow (got 'automatic')"
    ]
    write_policy("flow: journal_placement\nscenarios:\n  - name: x\n    steps:\n"
                 "      sign_letter: {expect: autonomous}\n", "journal_placement.scenarios.yaml")
    assert run_scenarios(load_policy(path)).lines() == [
        f"{FILE}:5: scenarios[0].steps.sign_letter: the policy has no step 'sign_letter' "
        "(its steps: read_letter, suggest_journal, file_journal_number)"
    ]


def test_missing_scenarios_fail_the_test_command(write_policy: WritePolicy) -> None:
    path = write_policy(POLICY)
    result = cli("test", str(path))
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{FILE}: no scenarios file journal_placement.scenarios.yaml next to the policy: "
        "a policy cannot be activated untested",
        "ran 0 scenarios: 0 passed, 0 failed, 1 problem",
    ]


def test_failing_scenario_blocks_activation_and_records_nothing(
    db_engine: Engine, write_policy: WritePolicy, policy_file: Path
) -> None:
    write_policy(POLICY.replace("confidence < 0.8", "confidence < 0.3"))
    before = counts(db_engine)
    report = activate(policy_file, by="anna", engine=db_engine)
    assert not report.ok and not report.recorded
    assert counts(db_engine) == before
    assert active_policy_hash(db_engine, "journal_placement") is None
    result = cli("activate", str(policy_file), "--by", "anna")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        "activation refused: policies/journal_placement.yaml is not checked and tested; "
        "nothing recorded"
    )
    assert counts(db_engine) == before


def test_unready_policy_blocks_activation(db_engine: Engine, write_policy: WritePolicy,
                                          policy_file: Path) -> None:
    write_policy(POLICY.replace("ai_act:\n  risk: minimal\n", "ai_act:\n  risk: high\n"))
    report = activate(policy_file, by="anna", engine=db_engine)
    assert [p.field for p in report.problems] == [
        "ai_act.annex_iii_point", "ai_act.dpia", "ai_act.fria"]
    assert not report.recorded and counts(db_engine) == (0, 0, 0)
    start, end = POLICY.index("ai_act:"), POLICY.index("steps:")
    write_policy(POLICY[:start] + POLICY[end:])  # loads, but is not classified
    report = activate(policy_file, by="anna", engine=db_engine)
    assert [p.field for p in report.problems] == ["ai_act"]
    assert report.scenarios is not None and report.scenarios.passed
    assert not report.recorded and counts(db_engine) == (0, 0, 0)


def test_activation_records_version_who_when_and_an_audit_event(
    db_engine: Engine, write_policy: WritePolicy, policy_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CASEWORK_POLICY_DIR", "policies")
    reset_settings_cache()
    policy = load_policy(policy_file)
    result = cli("activate", str(policy_file), "--by", "anna.team_lead")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == (
        f"activated journal_placement sha256 {policy.hash[:8]} by anna.team_lead "
        "(5 scenarios passed)"
    )
    assert active_policy_hash(db_engine, "journal_placement") == policy.hash
    with reading(db_engine) as session:
        version = session.get(PolicyVersion, policy.hash)
        assert version is not None and version.content == POLICY
        event = session.scalars(select(AuditEvent)).one()
        assert (event.action, event.actor, event.flow) == (
            "policy.activated", "user:anna.team_lead", "journal_placement")
        assert event.details["policy_hash"] == policy.hash
        assert event.details["previous_hash"] is None
        assert verify_chain(session).ok
    assert cli("activate", str(policy_file), "--by", "anna").output.splitlines()[-1] == (
        f"already active: journal_placement sha256 {policy.hash[:8]}"
    )
    assert counts(db_engine) == (1, 1, 1)

    status = cli("status")
    assert status.exit_code == 0
    assert "file policies/journal_placement.yaml matches" in status.output

    newer = write_policy(POLICY.replace("deadline_hours: 72", "deadline_hours: 48"))
    assert "file policies/journal_placement.yaml differs" in cli("status").output
    second = activate(newer, by="bo", engine=db_engine)
    assert second.recorded
    assert active_policy_hash(db_engine, "journal_placement") == load_policy(newer).hash
    [active] = active_versions(db_engine)
    assert (active.activated_by, active.scenarios_passed) == ("bo", 5)
    assert counts(db_engine) == (2, 2, 2)
