"""Every command, fed bad input, says so in one clear message and exits non-zero: no traceback.

Typo'd options for every command of ``casework``; an empty file, a folder and a wrong
extension for every command that reads or writes a file."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from casework.cli import app


def leaf_commands() -> list[list[str]]:
    root = typer.main.get_command(app)
    found: list[list[str]] = []

    def walk(command: Any, path: list[str]) -> None:
        if hasattr(command, "commands"):  # a group (Typer's own click)
            for name, sub in command.commands.items():
                walk(sub, [*path, name])
        else:
            found.append(path)

    walk(root, [])
    return found


@pytest.fixture(autouse=True)
def _quiet_stale_log_handlers(monkeypatch: pytest.MonkeyPatch) -> None:
    """CliRunner swaps stdout/stderr per call; a log handler created in an earlier call still
    holds the closed stream and Python's logging prints "--- Logging error ---" about it. That
    is the harness, not the command (a real process has one stderr)."""
    monkeypatch.setattr(logging, "raiseExceptions", False)


def invoke(args: list[str]):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, args)


def message_lines(output: str) -> list[str]:
    """The text of the output, without the frame Typer draws around usage errors and without
    notices about optional extras."""
    lines = [line.strip(" │╭╮╰╯─") for line in output.splitlines()]
    return [line for line in lines if line and line != "Error" and not line.startswith(
        ("notice:", "Usage:", "Try "))]


@pytest.mark.parametrize("command", leaf_commands(), ids=" ".join)
def test_a_typod_option_is_named(command: list[str]) -> None:
    result = invoke([*command, "--no-such-optoin"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert any("No such option: --no-such-optoin" in line
               for line in message_lines(result.output)), result.output


def cases(tmp: Path) -> dict[str, list[list[str]]]:
    empty, folder, wrong = tmp / "empty.yaml", tmp / "folder", tmp / "letter.docx"
    empty.write_text("")
    folder.mkdir()
    wrong.write_bytes(b"PK\x03\x04not a text file")
    empty_jsonl = tmp / "empty.jsonl"
    empty_jsonl.write_text("")
    return {
        "empty": [
            ["policy", "check", str(empty)],
            ["policy", "test", str(empty)],
            ["policy", "docs", str(empty)],
            ["items", "add", "--flow", "x", "--file", str(empty_jsonl), "--key-field", "id"],
            ["suggest", "kle", "-i", str(empty_jsonl)],
        ],
        "folder": [
            ["policy", "docs", str(folder)],
            ["policy", "test", str(folder / "none.yaml")],
            ["items", "add", "--flow", "x", "--file", str(folder), "--key-field", "id"],
            ["suggest", "kle", "-i", str(folder)],
            ["report", "--from", "2026-01-01", "--to", "2026-02-01", "-o", str(folder)],
            ["policy", "check", "--flows", str(folder / "typo")],
        ],
        "wrong extension": [
            ["report", "--from", "2026-01-01", "--to", "2026-02-01", "-o", str(tmp / "r.csv")],
            ["policy", "check", str(wrong)],
            ["items", "add", "--flow", "x", "--file", str(wrong), "--key-field", "id"],
            ["suggest", "kle", "-i", str(wrong)],
        ],
    }


@pytest.mark.usefixtures("db_engine")
@pytest.mark.parametrize("kind", ["empty", "folder", "wrong extension"])
def test_bad_files_get_one_clear_message(kind: str, tmp_path: Path) -> None:
    for args in cases(tmp_path)[kind]:
        result = invoke(args)
        shown = " ".join(args)
        assert result.exit_code != 0, f"{shown}: exit 0\n{result.output}"
        assert "Traceback" not in result.output, shown
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            f"{shown}: {result.exception!r}")
        lines = message_lines(result.output)
        assert lines, f"{shown}: no message"
        # The first line says what is wrong, naming the input.
        first = lines[0]
        bad = next(a for a in args if a.startswith(str(tmp_path)))
        assert Path(bad).name in first, f"{shown}: {first!r}"
