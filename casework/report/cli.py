"""``casework report``: the time-saved workbook from the command line.

The lead mounts it with ``register(app)``; every user error ends in one line on stderr and
exit code 1 (Typer's own usage errors, such as a missing option, exit with 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from casework.report.builder import build_report
from casework.report.request import ReportError, ReportRequest

_OPTIONS = {
    "date_from": "--from",
    "date_to": "--to",
    "department": "--department",
    "flow": "--flow",
    "lang": "--lang",
    "hours_per_fte": "--hours-per-fte",
}


def describe_validation_error(exc: ValidationError) -> str:
    """A pydantic error as one line naming the CLI options, e.g.
    ``--from: '2026-13-01' is not a date; use YYYY-MM-DD``."""
    parts = []
    for err in exc.errors():
        msg = str(err["msg"]).removeprefix("Value error, ")
        field = str(err["loc"][0]) if err["loc"] else ""
        parts.append(f"{_OPTIONS.get(field, field)}: {msg}" if field else msg)
    return "; ".join(parts)


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def register(app: typer.Typer) -> None:
    """Add the ``report`` command to ``app``."""

    @app.command("report")
    def report(
        date_from: Annotated[
            str, typer.Option("--from", help="First day of the period (YYYY-MM-DD), included.")
        ],
        date_to: Annotated[
            str, typer.Option("--to", help="Last day of the period (YYYY-MM-DD), included.")
        ],
        output: Annotated[
            Path, typer.Option("--output", "-o", help="The Excel file to write (.xlsx).")
        ],
        department: Annotated[
            str | None, typer.Option("--department", help="Only this department.")
        ] = None,
        flow: Annotated[str | None, typer.Option("--flow", help="Only this flow.")] = None,
        lang: Annotated[
            str | None,
            typer.Option("--lang", help="Labels: da, en or nb (default: CASEWORK_LANGUAGE)."),
        ] = None,
        hours_per_fte: Annotated[
            float | None,
            typer.Option(
                "--hours-per-fte",
                help="Working hours per full-time equivalent (default: CASEWORK_HOURS_PER_FTE, "
                "1,667).",
            ),
        ] = None,
    ) -> None:
        """Write the time-saved report for managers (Excel) for a period."""
        from casework.db.session import get_engine

        try:
            request = ReportRequest(
                date_from=date_from,  # type: ignore[arg-type]
                date_to=date_to,  # type: ignore[arg-type]
                department=department,
                flow=flow,
                lang=lang,  # type: ignore[arg-type]
                hours_per_fte=hours_per_fte,  # type: ignore[arg-type]
            )
        except ValidationError as exc:
            _fail(describe_validation_error(exc))
        if output.suffix.lower() != ".xlsx":
            _fail(f"--output {output}: the report is an Excel workbook; name it .xlsx")
        try:
            summary = build_report(get_engine(), request, output)
        except ReportError as exc:
            _fail(str(exc))
        except SQLAlchemyError as exc:
            _fail(f"cannot read the ledger (is the database migrated?): {_first_line(exc)}")
        except OSError as exc:
            _fail(f"cannot write '{output}': {exc.strerror or exc}")

        if summary.empty:
            typer.echo(f"Wrote {output}: no ledger rows in the period.")
        else:
            typer.echo(
                f"Wrote {output}: {summary.hours_saved:,.1f} hours saved "
                f"({summary.fte:,.2f} FTE), {summary.step_runs:,} step runs, "
                f"{summary.cases:,} cases."
            )
