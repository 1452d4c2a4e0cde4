"""The same report on PostgreSQL (portable SQL: month CASE, window-function medians,
REPEATABLE READ snapshot, server-side cursor). Runs when CASEWORK_TEST_POSTGRES_URL is set,
in a throw-away schema so it never touches other data in that database."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from report_helpers import BS, EXPECTED, LEDGER, insert, summary_values, table_rows
from sqlalchemy import Engine, create_engine

from casework.db import migrate
from casework.report import ReportRequest, build_report, known_departments
from casework.report.labels import labels
from casework.report.workbook import TABLE_NAMES

URL = os.environ.get("CASEWORK_TEST_POSTGRES_URL")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not URL, reason="set CASEWORK_TEST_POSTGRES_URL to run PostgreSQL tests"),
]


@pytest.fixture
def pg_ledger() -> Iterator[Engine]:
    assert URL
    schema = f"report_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine = create_engine(URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        migrate.upgrade(engine)
        insert(engine, LEDGER)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def test_report_on_postgres_matches_the_ledger(pg_ledger: Engine, tmp_path: Path) -> None:
    t = labels("en")
    path = tmp_path / "pg.xlsx"
    summary = build_report(pg_ledger, ReportRequest(date_from="2026-01-01",  # type: ignore[arg-type]
                                                    date_to="2026-12-31", lang="en"),
                           path, rows_per_sheet=6)
    assert (summary.step_runs, summary.cases) == (EXPECTED["runs"], EXPECTED["cases"])
    assert summary.saved_minutes == pytest.approx(EXPECTED["saved_minutes"])
    assert summary.rejection_rate == pytest.approx(EXPECTED["rejection_rate"])

    wb = openpyxl.load_workbook(path)
    saved, count = 0.0, 0
    for title in ("Rows", "Rows (2)"):
        for row in wb[title].iter_rows(min_row=2, values_only=True):
            count += 1
            saved += row[16]
    assert (count, saved) == (EXPECTED["runs"], pytest.approx(EXPECTED["saved_minutes"]))
    assert summary_values(wb["Summary"])[t["hours_saved"]] == pytest.approx(saved / 60)

    months = {r[t["col_month"]]: r[t["col_hours_saved"]]
              for r in table_rows(wb[t["sheet_month"]], TABLE_NAMES["month"])}
    for month, minutes in EXPECTED["months"].items():
        assert months[month] == pytest.approx(minutes / 60)

    estimates = {(r[t["col_flow"]], r[t["col_step"]], r[t["col_baseline"]]): r
                 for r in table_rows(wb[t["sheet_estimate"]], TABLE_NAMES["estimate"])}
    for key, (n, median) in EXPECTED["medians"].items():
        assert estimates[key][t["col_measured_n"]] == n
        assert estimates[key][t["col_median"]] == (None if median is None
                                                   else pytest.approx(median))
    first = next(wb["Rows"].iter_rows(min_row=2, max_row=2, values_only=True))
    assert first[2] == "2026-01" and first[6] == "c_h"  # local time on PostgreSQL too


def test_filters_on_postgres(pg_ledger: Engine, tmp_path: Path) -> None:
    summary = build_report(pg_ledger, ReportRequest(date_from="2026-01-01",  # type: ignore[arg-type]
                                                    date_to="2026-12-31", department=BS),
                           tmp_path / "bs.xlsx")
    assert summary.step_runs == 5
    assert summary.saved_minutes == pytest.approx(EXPECTED["departments"][BS])
    assert BS in known_departments(pg_ledger)
