"""A Prefect that cannot be set up is one clear line, not a timeout traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from casework.ops.prefect_env import prefect_problem, quiet_temporary_server


def test_a_home_under_a_missing_folder_is_named(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "missing" / "prefect"))
    assert f"the folder {tmp_path / 'missing'} does not exist" in prefect_problem()
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))  # Prefect creates this one
    assert prefect_problem() is None


def test_a_server_that_does_not_answer_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{port}/api")
    assert "does not answer" in prefect_problem(timeout=1)


def test_running_a_flow_with_plain_python_fails_in_one_line(tmp_path: Path) -> None:
    script = tmp_path / "robot.py"
    script.write_text("from prefect import flow\n"
                      "from casework.ops.prefect_env import run_flow\n"
                      "@flow\ndef hello():\n    return 1\n"
                      "run_flow(hello)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path / "no" / "such" / "prefect")
    run = subprocess.run([sys.executable, "-W", "ignore", str(script)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines()[-1].startswith("error: PREFECT_HOME=")


def test_the_temporary_server_sends_no_telemetry_unless_told_to(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT_SERVER_ANALYTICS_ENABLED", raising=False)
    monkeypatch.delenv("DO_NOT_TRACK", raising=False)
    quiet_temporary_server()
    assert os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert os.environ["DO_NOT_TRACK"] == "1"
    monkeypatch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "true")  # an explicit choice wins
    quiet_temporary_server()
    assert os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "true"
