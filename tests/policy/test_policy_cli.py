"""``casework policy check``: output lines, exit codes, and the cross-check with flow code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from policy_helpers import GOOD_POLICY, WritePolicy
from typer.testing import CliRunner, Result

from casework.policy import load_policy
from casework.policy.cli import register
from casework.settings import reset_settings_cache

FLOW_CODE = """\
from casework.registry import register_flow, register_step

register_flow("journal_placement")
register_step("journal_placement", "read_letter", "preparatory")
register_step("journal_placement", "suggest_journal", "preparatory")
register_step("journal_placement", "grant_benefit", "decision")


def hear_first(robot, case):
    return robot.party_hearing(case, decision_step="grant_benefit", facts=[], draft=str)
"""


@pytest.fixture
def policy_dir_env(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("CASEWORK_POLICY_DIR", "policies")
    reset_settings_cache()
    yield workdir / "policies"
    reset_settings_cache()


def run(*args: str) -> Result:
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["policy", "check", *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result


def write_flows(directory: Path, name: str, code: str) -> Path:
    directory.mkdir(exist_ok=True)
    (directory / f"{name}.py").write_text(code, encoding="utf-8")
    return directory


def test_ok_file(write_policy: WritePolicy, good_text: str) -> None:
    path = write_policy(good_text)
    short_hash = load_policy(path).hash[:8]
    result = run(str(path))
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        f"ok    policies/journal_placement.yaml  (3 steps, sha256 {short_hash})",
        "checked 1 file: all ok (flow code not cross-checked: no flows/ folder)",
    ]


def test_bad_file(write_policy: WritePolicy, good_text: str) -> None:
    good = write_policy(good_text)
    bad = write_policy("flow: other\nsteps:\n  a: {kind: preparatory, mode: auto}\n", "x.yaml")
    result = run(str(good), str(bad), "policies/missing.yaml")
    assert result.exit_code == 1
    assert result.output.splitlines()[1:] == [
        "policies/x.yaml:1: flow: flow 'other' does not match the file name 'x.yaml'",
        "policies/x.yaml:3: steps.a.mode: must be one of autonomous, signoff, manual, shadow "
        "(got 'auto')",
        "policies/x.yaml:3: steps.a: missing required field 'manual_minutes'",
        "policies/missing.yaml: cannot read file: No such file or directory",
        "checked 3 files: 4 problems (flow code not cross-checked: no flows/ folder)",
    ]


def test_yaml_error_has_no_traceback(write_policy: WritePolicy) -> None:
    path = write_policy("flow: x\nsteps: [\n")
    result = run(str(path))
    assert result.exit_code == 1
    assert result.output.splitlines()[0].startswith("policies/journal_placement.yaml:3: YAML error")


def test_default_is_every_file_in_the_policy_dir(
    policy_dir_env: Path, write_policy: WritePolicy, good_text: str
) -> None:
    write_policy(good_text)
    write_policy(GOOD_POLICY.format(flow="other"), "other.yaml")
    result = run()  # no flows/ here: the default folder is optional, a given one is not
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert [line.split()[1] for line in lines[:2]] == [
        "policies/journal_placement.yaml",
        "policies/other.yaml",
    ]
    assert lines[2] == "checked 2 files: all ok (flow code not cross-checked: no flows/ folder)"


def test_missing_policy_dir(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEWORK_POLICY_DIR", "no_such_dir")
    reset_settings_cache()
    try:
        result = run()
    finally:
        reset_settings_cache()
    assert result.exit_code == 1
    assert result.output == "error: no policy folder at no_such_dir (set CASEWORK_POLICY_DIR)\n"


@pytest.mark.usefixtures("isolated_registry")
def test_cross_check_with_flow_code(
    policy_dir_env: Path, write_policy: WritePolicy, good_text: str
) -> None:
    write_policy(good_text)
    write_flows(Path("flows"), "cli_ok_journal", FLOW_CODE)
    result = run()
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "checked 1 file: all ok"


@pytest.mark.usefixtures("isolated_registry")
def test_cross_check_reports_mismatches(
    policy_dir_env: Path, write_policy: WritePolicy, good_text: str
) -> None:
    write_policy(good_text.replace("grant_benefit", "grant_help"))
    write_policy(GOOD_POLICY.format(flow="orphan"), "orphan.yaml")
    code = FLOW_CODE + 'register_step("other_flow", "x", "preparatory")\n'
    write_flows(Path("myflows"), "cli_bad_journal", code)
    result = run("--flows", "myflows")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "policies/journal_placement.yaml:4: steps: step 'grant_benefit' of flow "
        "'journal_placement' has no policy",
        "policies/journal_placement.yaml:22: steps.grant_help: unknown step 'grant_help': "
        "flow 'journal_placement' has no such step "
        "(its steps: read_letter, suggest_journal, grant_benefit)",
        "policies/orphan.yaml:1: flow: no flow named 'orphan' in myflows/",
        "policies/other_flow.yaml: flow 'other_flow' in myflows/ has no policy file",
        "checked 2 files: 4 problems",
    ]


@pytest.mark.usefixtures("isolated_registry")
def test_flow_import_error_is_one_line(write_policy: WritePolicy, good_text: str) -> None:
    path = write_policy(good_text)
    write_flows(Path("flows"), "cli_broken", "raise RuntimeError('boom\\nsecond line')\n")
    result = run(str(path))
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert result.output.startswith("error: ")
    assert "cli_broken.py: cannot import: RuntimeError: boom second line" in result.output


def test_register_adds_a_policy_group() -> None:
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["policy", "--help"])
    assert result.exit_code == 0
    assert "check" in result.output


@pytest.mark.usefixtures("isolated_registry")
def test_a_decision_with_hearing_auto_needs_the_hearing_in_the_flow(
    policy_dir_env: Path, write_policy: WritePolicy, good_text: str
) -> None:
    write_policy(good_text)
    write_flows(Path("flows"), "cli_unheard", FLOW_CODE.split("\n\n\ndef hear_first")[0])
    result = run()
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "policies/journal_placement.yaml:22: steps.grant_benefit: decision step "
        "'grant_benefit' has hearing: auto, but flows/cli_unheard.py never calls "
        'robot.party_hearing(case, decision_step="grant_benefit", ...) before it: call it, '
        "or set hearing: exempt with a hearing_exception",
        "checked 1 file: 1 problem",
    ]


def test_a_folder_argument_checks_its_files(write_policy: WritePolicy, good_text: str) -> None:
    write_policy(good_text)
    result = run("policies")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].startswith("checked 1 file: all ok")


def test_a_flows_folder_that_does_not_exist_is_an_error(workdir: Path) -> None:
    result = run("--flows", "/typo")
    assert (result.exit_code, result.output) == (1, "error: --flows /typo: no such folder\n")
