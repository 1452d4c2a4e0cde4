"""Managers download the time-saved workbook from the inbox (the same builder as the CLI)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from inbox_helpers import decide, make_task
from openpyxl import load_workbook


def _period() -> dict[str, str]:
    today = datetime.now(UTC).date().isoformat()
    return {"from": "2026-01-01", "to": max(today, "2026-12-31")}


def test_manager_downloads_a_report_whose_totals_match_the_decisions(as_user, engine) -> None:
    task_id = make_task(engine, department="byggeri", baseline=10.0)
    caseworker = as_user("anna.byg")
    assert decide(caseworker, task_id, "approved").status_code in (200, 303)

    manager = as_user("mette.chef")
    page = manager.get("/reports")
    assert page.status_code == 200 and 'name="department"' in page.text
    response = manager.get("/reports/download",
                           params={**_period(), "department": "byggeri", "lang": "en"})
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert "attachment" in response.headers["content-disposition"]
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    assert "Summary" in book.sheetnames and "Rows" in book.sheetnames
    rows = list(book["Rows"].iter_rows(values_only=True))
    assert len(rows) == 2  # header + the one decided step run


def test_caseworkers_cannot_download_reports(as_user) -> None:
    client = as_user("anna.byg")
    assert client.get("/reports").status_code == 403
    assert client.get("/reports/download",
                      params={**_period(), "department": "byggeri"}).status_code == 403


def test_a_manager_reports_only_on_own_departments_and_bad_periods_are_explained(
        as_user, engine) -> None:
    make_task(engine, department="byggeri")
    manager = as_user("mette.chef")
    other = manager.get("/reports/download",
                        params={**_period(), "department": "finance-not-mine"})
    assert other.status_code == 400 and "Vælg en af dine egne afdelinger." in other.text
    reversed_period = manager.get("/reports/download", params={
        "from": "2026-12-31", "to": "2026-01-01", "department": "byggeri"})
    assert reversed_period.status_code == 400
    assert "Vælg en gyldig periode" in reversed_period.text
