"""Managers' "Download report": the same workbook as ``casework report``, scoped to the
departments the manager belongs to."""

from __future__ import annotations

from collections.abc import Iterator
from tempfile import SpooledTemporaryFile

from pydantic import ValidationError
from sqlalchemy import Engine

from casework.inbox.identity import User
from casework.report.builder import build_report
from casework.report.request import ReportError, ReportRequest

REPORT_ROLES = frozenset({"manager"})
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def may_download(user: User) -> bool:
    return bool(user.roles & REPORT_ROLES)


class ReportRefused(ReportError):
    """A report the form cannot ask for; ``key`` names the page's message (i18n)."""

    def __init__(self, key: str, detail: str) -> None:
        super().__init__(detail)
        self.key = key


_FIELD_KEYS = {"date_from": "report_error_period", "date_to": "report_error_period",
               "from": "report_error_period", "to": "report_error_period",
               "flow": "report_error_flow", "department": "report_error_department"}


def report_request(user: User, params: dict[str, str]) -> ReportRequest:
    """Validate the form; a manager reports on one of their own departments only."""
    department = (params.get("department") or "").strip()
    if department not in user.departments:
        raise ReportRefused("report_error_department", "choose one of your own departments")
    try:
        return ReportRequest.model_validate({**params, "department": department})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "period"
        key = _FIELD_KEYS.get(field, "report_error_period" if not first["loc"] else
                              "report_error")
        raise ReportRefused(key, f"{field}: {first['msg'].removeprefix('Value error, ')}"
                            ) from None


def build_to_stream(engine: Engine, request: ReportRequest) -> Iterator[bytes]:
    """Build fully (so errors surface before any byte is sent), then stream the file."""
    buffer = SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115 - closed below
    try:
        build_report(engine, request, buffer)
    except BaseException:
        buffer.close()
        raise

    def chunks() -> Iterator[bytes]:
        with buffer:
            buffer.seek(0)
            while chunk := buffer.read(1024 * 1024):
                yield chunk

    return chunks()


def filename(request: ReportRequest) -> str:
    return f"time-saved_{request.department}_{request.date_from}_{request.date_to}.xlsx"
