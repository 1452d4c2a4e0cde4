"""``casework report`` through Typer: success output and one-line errors (never a traceback)."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
import typer
from report_helpers import BS, EXPECTED
from typer.testing import CliRunner

from casework.report.cli import register


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:  # a group, as in the real CLI, so "report" is a subcommand
        pass

    register(app)
    return app


def run(app: typer.Typer, *args: str):
    return CliRunner().invoke(app, ["report", *args])


def test_writes_the_report(app, ledger, tmp_path: Path) -> None:
    out = tmp_path / "report.xlsx"
    result = run(app, "--from", "2026-01-01", "--to", "2026-12-31", "--lang", "en",
                 "--hours-per-fte", "1600", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        f"Wrote {out}: 1.1 hours saved (0.00 FTE), 11 step runs, 8 cases."
    )
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[0] == "Summary"
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True) if r and r[0]}
    assert summary["Hours per full-time equivalent"] == 1600
    assert summary["Full-time equivalents (hours saved ÷ hours per FTE)"] == pytest.approx(
        EXPECTED["saved_minutes"] / 60 / 1600
    )


def test_defaults_to_danish_and_filters(app, ledger, tmp_path: Path) -> None:
    out = tmp_path / "rapport.xlsx"
    result = run(app, "--from", "2026-01-01", "--to", "2026-12-31", "--department", BS,
                 "-o", str(out))
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[0] == "Oversigt" and "Rækker" in wb.sheetnames
    assert "5 step runs" in result.stdout


def test_empty_period(app, ledger, tmp_path: Path) -> None:
    out = tmp_path / "empty.xlsx"
    result = run(app, "--from", "2031-01-01", "--to", "2031-01-31", "-o", str(out))
    assert result.exit_code == 0
    assert result.stdout.strip() == f"Wrote {out}: no ledger rows in the period."
    assert openpyxl.load_workbook(out)["Oversigt"]["A2"].value.startswith("Ingen registreringer")


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--from", "2026-12-31", "--to", "2026-01-01"],
         "the period ends (2026-01-01) before it starts (2026-12-31)"),
        (["--from", "01/01/2026", "--to", "2026-12-31"],
         "--from: '01/01/2026' is not a date; use YYYY-MM-DD"),
        (["--from", "2026-01-01", "--to", "2026-02-30"],
         "--to: '2026-02-30' is not a date; use YYYY-MM-DD"),
        (["--from", "2026-01-01", "--to", "2026-12-31", "--department", "Borgerservise"],
         "unknown department 'Borgerservise'; did you mean 'Borgerservice'? (known: "
         "Borgerservice, Byg og Plan, Teknik og Miljø, Ydelser)"),
        (["--from", "2026-01-01", "--to", "2026-12-31", "--flow", "housing"],
         "unknown flow 'housing'; did you mean 'housing_benefit'? (known: housing_benefit, "
         "parking_permit)"),
        (["--from", "2026-01-01", "--to", "2026-12-31", "--lang", "de"],
         "--lang: Input should be 'da', 'en' or 'nb'"),
        (["--from", "2026-01-01", "--to", "2026-12-31", "--hours-per-fte", "-3"],
         "--hours-per-fte: Input should be greater than 0"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(app, ledger, tmp_path: Path, args, error) -> None:
    result = run(app, *args, "-o", str(tmp_path / "r.xlsx"))
    assert result.exit_code == 1
    assert result.stderr == f"error: {error}\n"
    assert "Traceback" not in result.output
    assert not (tmp_path / "r.xlsx").exists()


def test_output_in_a_missing_folder(app, ledger, tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "r.xlsx"
    result = run(app, "--from", "2026-01-01", "--to", "2026-12-31", "-o", str(target))
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: cannot write '{target}': the folder '{target.parent}' does not exist\n"
    )


def test_unmigrated_database_is_one_line(app, casework_env, tmp_path: Path) -> None:
    result = run(app, "--from", "2026-01-01", "--to", "2026-12-31", "-o", str(tmp_path / "r.xlsx"))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot read the ledger (is the database migrated?):")
    assert result.stderr.count("\n") == 1


def test_missing_option_is_a_usage_error(app, tmp_path: Path) -> None:
    result = run(app, "--from", "2026-01-01", "-o", str(tmp_path / "r.xlsx"))
    assert result.exit_code == 2
    assert "--to" in result.output and "Traceback" not in result.output
