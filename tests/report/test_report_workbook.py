"""The workbook read back with openpyxl: values, tables, charts, formats, panes, languages."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl.chart import BarChart
from report_helpers import (
    BS,
    EXPECTED,
    HB,
    PP,
    TM,
    YD,
    at,
    entry,
    insert,
    load,
    rows_sheets,
    summary_values,
    table_rows,
)
from sqlalchemy import Engine

from casework.db.session import reading
from casework.report import (
    ReportError,
    ReportRequest,
    build_report,
    known_departments,
    known_flows,
)
from casework.report.labels import labels
from casework.report.workbook import TABLE_NAMES, TABLE_STYLE

YEAR = {"date_from": "2026-01-01", "date_to": "2026-12-31"}
GENERATED = datetime(2026, 5, 1, 12, 0)


def build(engine: Engine, tmp_path: Path, name: str = "report.xlsx", **kw: object):
    options = {k: kw.pop(k) for k in ("rows_per_sheet",) if k in kw}
    (tmp_path / "out").mkdir(exist_ok=True)
    path = tmp_path / "out" / name
    summary = build_report(engine, ReportRequest(**{**YEAR, **kw}), path,
                           generated_at=GENERATED, **options)
    return summary, load(path)


@pytest.fixture
def english(ledger: Engine, tmp_path: Path):
    return build(ledger, tmp_path, lang="en")


def saved_in_rows(wb, title: str) -> tuple[int, float]:
    """(rows, sum of 'Saved minutes') over every Rows sheet, read cell by cell."""
    count, total = 0, 0.0
    for ws in rows_sheets(wb, title):
        header = [c.value for c in ws[1]]
        col = header.index(labels("en")["row_saved"] if title == "Rows"
                           else labels("da")["row_saved"])
        for row in ws.iter_rows(min_row=2, values_only=True):
            if row[0] is not None:
                count += 1
                total += row[col]
    return count, total


def outcome_block(ws, t) -> list[tuple]:
    """The Summary's "step runs by outcome" rows: after its heading, up to the blank line."""
    rows = list(ws.iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] == t["by_outcome"]) + 1
    end = next(i for i in range(start, len(rows)) if not rows[i][0])
    return rows[start:end]


# ---- totals -----------------------------------------------------------------------------


def test_summary_figures_match_the_ledger(english) -> None:
    summary, wb = english
    t = labels("en")
    values = summary_values(wb[t["sheet_summary"]])
    assert values[t["hours_saved"]] == pytest.approx(EXPECTED["saved_minutes"] / 60)
    assert values[t["fte"]] == pytest.approx(EXPECTED["saved_minutes"] / 60 / 1667)
    assert values[t["cases"]] == EXPECTED["cases"]
    assert values[t["step_runs"]] == EXPECTED["runs"]
    assert values[t["share_autonomous"]] == pytest.approx(2 / 11)
    assert values[t["share_signed_off"]] == pytest.approx(4 / 11)
    assert values[t["rejection_rate"]] == pytest.approx(EXPECTED["rejection_rate"])
    assert values[t["awaiting"]] == EXPECTED["awaiting"]
    assert values[t["period"]] == "2026-01-01 – 2026-12-31"
    assert values[t["department"]] == t["all"]
    assert values[t["hours_per_fte"]] == 1667
    assert values[t["method"]] is None and t["method_2"] in values  # the note is there
    # The returned summary is the same numbers.
    assert summary.hours_saved == pytest.approx(values[t["hours_saved"]])
    assert (summary.step_runs, summary.cases, summary.rejected) == (11, 8, 1)
    assert summary.rows_sheets == ["Rows"] and not summary.empty


def test_every_total_equals_the_sum_of_the_rows_sheet(english) -> None:
    _, wb = english
    t = labels("en")
    count, saved = saved_in_rows(wb, "Rows")
    assert count == EXPECTED["runs"]
    assert saved == pytest.approx(EXPECTED["saved_minutes"])
    hours = saved / 60

    assert summary_values(wb[t["sheet_summary"]])[t["hours_saved"]] == pytest.approx(hours)
    for sheet, table in (("sheet_month", "month"), ("sheet_flow_step", "flow_step"),
                         ("sheet_department", "department"), ("sheet_kle", "kle")):
        rows = table_rows(wb[t[sheet]], TABLE_NAMES[table])
        assert sum(r[t["col_hours_saved"]] for r in rows) == pytest.approx(hours), sheet
        assert sum(r[t["col_runs"]] for r in rows) == count, sheet
        assert sum(r[t["col_fte"]] for r in rows) == pytest.approx(hours / 1667), sheet
    outcome_rows = outcome_block(wb[t["sheet_summary"]], t)
    assert [r[0] for r in outcome_rows] == [
        "Completed by the robot", "Approved", "Amended and approved", "Rejected",
        "Awaiting sign-off", "Done manually", "Failed", "Escalated",
    ]
    assert sum(r[1] for r in outcome_rows) == count
    assert sum(r[2] for r in outcome_rows) == pytest.approx(hours)
    chart_rows = table_rows(wb[t["sheet_charts"]], TABLE_NAMES["chart"])
    assert sum(sum(v for k, v in r.items() if k != t["col_month"]) for r in chart_rows) == (
        pytest.approx(hours)
    )


def test_summary_check_formulas_point_at_the_rows(english) -> None:
    _, wb = english
    t = labels("en")
    values = summary_values(wb[t["sheet_summary"]])
    assert values[t["check_hours"]] == "=(SUM('Rows'!Q2:Q12))/60"
    assert values[t["check_runs"]] == "=COUNTA('Rows'!A2:A12)"


# ---- breakdowns -------------------------------------------------------------------------


def test_by_month_lists_every_month_of_the_period(english) -> None:
    _, wb = english
    t = labels("en")
    rows = table_rows(wb[t["sheet_month"]], TABLE_NAMES["month"])
    assert [r[t["col_month"]] for r in rows] == [f"2026-{m:02d}" for m in range(1, 13)]
    hours = {r[t["col_month"]]: r[t["col_hours_saved"]] for r in rows}
    for month, minutes in EXPECTED["months"].items():
        assert hours[month] == pytest.approx(minutes / 60)
    assert hours["2026-12"] == 0  # the 2026-12-31 23:30 UTC run belongs to 2027 locally
    jan = rows[0]
    assert (jan[t["col_runs"]], jan[t["col_autonomous"]], jan[t["col_signed_off"]],
            jan[t["col_rejected"]]) == (4, 2, 1, 1)
    assert jan[t["col_share_autonomous"]] == pytest.approx(0.5)


def test_by_department_and_kle(english) -> None:
    _, wb = english
    t = labels("en")
    depts = table_rows(wb[t["sheet_department"]], TABLE_NAMES["department"])
    assert [r[t["col_department"]] for r in depts] == [BS, TM, YD, "unknown"]
    for r in depts:
        key = None if r[t["col_department"]] == "unknown" else r[t["col_department"]]
        assert r[t["col_hours_saved"]] == pytest.approx(EXPECTED["departments"][key] / 60)
    assert {r[t["col_department"]]: r[t["col_cases"]] for r in depts} == {
        BS: 4, TM: 2, YD: 1, "unknown": 1
    }
    kle = table_rows(wb[t["sheet_kle"]], TABLE_NAMES["kle"])
    assert [r[t["col_kle_group"]] for r in kle] == ["02", "05", "32", "unknown"]
    for r in kle:
        key = None if r[t["col_kle_group"]] == "unknown" else r[t["col_kle_group"]]
        assert r[t["col_hours_saved"]] == pytest.approx(EXPECTED["kle"][key] / 60)


def test_by_flow_and_step(english) -> None:
    _, wb = english
    t = labels("en")
    rows = table_rows(wb[t["sheet_flow_step"]], TABLE_NAMES["flow_step"])
    keys = [(r[t["col_flow"]], r[t["col_step"]]) for r in rows]
    assert keys == [(HB, "classify"), (HB, "draft_decision"), (PP, "classify"),
                    (PP, "draft_decision"), (PP, "verify_address")]
    draft = rows[1]
    assert draft[t["col_step_kind"]] == t["value_kind_decision"]  # a word, not the code
    assert (draft[t["col_runs"]], draft[t["col_signed_off"]], draft[t["col_rejected"]]) == (4, 3, 1)
    assert draft[t["col_rejection_rate"]] == pytest.approx(0.25)
    assert draft[t["col_hours_saved"]] == pytest.approx((25 - 10 + 15 + 23) / 60)
    assert rows[0][t["col_rejection_rate"]] is None  # nothing decided: no rate, not 0 %


def test_estimate_vs_measured_uses_medians_of_decided_signoffs(english) -> None:
    _, wb = english
    t = labels("en")
    rows = table_rows(wb[t["sheet_estimate"]], TABLE_NAMES["estimate"])
    got = {(r[t["col_flow"]], r[t["col_step"]], r[t["col_baseline"]]): r for r in rows}
    for key, (n, median) in EXPECTED["medians"].items():
        row = got[key]
        assert row[t["col_measured_n"]] == n
        if median is None:
            assert row[t["col_median"]] is None and row[t["col_diff"]] is None
        else:
            assert row[t["col_median"]] == pytest.approx(median)
            assert row[t["col_diff"]] == pytest.approx(median - key[2])
            assert row[t["col_ratio"]] == pytest.approx(median / key[2])


def test_kle_group_and_department_are_grouped_as_unknown_in_danish(ledger, tmp_path) -> None:
    _, wb = build(ledger, tmp_path, lang="da")
    t = labels("da")
    kle = table_rows(wb[t["sheet_kle"]], TABLE_NAMES["kle"])
    assert kle[-1][t["col_kle_group"]] == "ukendt"
    depts = table_rows(wb[t["sheet_department"]], TABLE_NAMES["department"])
    assert depts[-1][t["col_department"]] == "ukendt"


# ---- structure --------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "da"])
def test_tables_formats_panes_and_widths(ledger, tmp_path: Path, lang: str) -> None:
    _, wb = build(ledger, tmp_path, lang=lang)
    t = labels(lang)
    expected_sheets = [t[k] for k in ("sheet_summary", "sheet_month", "sheet_flow_step",
                                      "sheet_department", "sheet_kle", "sheet_estimate",
                                      "sheet_charts", "sheet_autonomy", "sheet_items",
                                      "sheet_rows")]
    assert wb.sheetnames == expected_sheets
    tables = {
        "sheet_month": ("month", "A1:I13"),
        "sheet_flow_step": ("flow_step", "A1:K6"),
        "sheet_department": ("department", "A1:J5"),
        "sheet_kle": ("kle", "A1:I5"),
        "sheet_estimate": ("estimate", "A1:H6"),
        "sheet_charts": ("chart", "A1:C13"),
        "sheet_autonomy": ("autonomy", "A1:N2"),  # no step earns autonomy: one blank row
        "sheet_items": ("items", "A1:H2"),  # no work items in this ledger: one blank row
        "sheet_rows": ("rows", "A1:Q12"),
    }
    for sheet, (key, ref) in tables.items():
        ws = wb[t[sheet]]
        assert list(ws.tables) == [TABLE_NAMES[key]], sheet
        table = ws.tables[TABLE_NAMES[key]]
        assert table.ref == ref, sheet
        assert table.autoFilter.ref == ref
        assert table.tableStyleInfo.name == TABLE_STYLE
        assert table.tableStyleInfo.showRowStripes is True
        assert [c.name for c in table.tableColumns] == [c.value for c in ws[1]], sheet
        assert ws.freeze_panes == "A2", sheet
        assert all(ws.column_dimensions[c].width >= 9 for c in "ABC"), sheet

    month = wb[t["sheet_month"]]
    header = [c.value for c in month[1]]
    assert month.cell(2, header.index(t["col_hours_saved"]) + 1).number_format == "0.0"
    assert month.cell(2, header.index(t["col_share_autonomous"]) + 1).number_format == "0.0%"
    assert month.cell(2, header.index(t["col_fte"]) + 1).number_format == "0.00"
    assert month.cell(2, header.index(t["col_runs"]) + 1).number_format == "#,##0"

    summary = wb[t["sheet_summary"]]
    formats = {r[0].value: r[1].number_format for r in summary.iter_rows() if len(r) > 1
               and r[0].value}
    assert formats[t["hours_saved"]] == "0.0"
    assert formats[t["share_autonomous"]] == "0.0%"
    assert formats[t["rejection_rate"]] == "0.0%"

    rows = wb[t["sheet_rows"]]
    assert rows["B2"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert rows["Q2"].number_format == "0.00"


def test_charts(english) -> None:
    _, wb = english
    t = labels("en")
    ws = wb[t["sheet_charts"]]
    charts = ws._charts
    assert len(charts) == 2
    hours, outcomes = charts
    assert isinstance(hours, BarChart) and isinstance(outcomes, BarChart)
    assert hours.type == outcomes.type == "col"
    assert hours.grouping == outcomes.grouping == "stacked"
    # one series per flow (largest first), titled from the chart table's header
    assert [s.tx.strRef.f for s in hours.series] == ["'Charts'!B1", "'Charts'!C1"]
    assert [c.value for c in ws[1]][1:] == [HB, PP]
    assert hours.series[0].val.numRef.f == "'Charts'!$B$2:$B$13"
    assert hours.series[0].cat.strRef.f == "'Charts'!$A$2:$A$13"
    # autonomous / signed off / rejected per month, from the By month table
    assert [s.tx.strRef.f for s in outcomes.series] == [
        "'By month'!C1", "'By month'!D1", "'By month'!E1"
    ]
    assert [c.value for c in wb[t["sheet_month"]][1]][2:5] == [
        t["col_autonomous"], t["col_signed_off"], t["col_rejected"]
    ]
    assert hours.x_axis.delete is False and hours.y_axis.delete is False


def test_many_flows_share_an_other_series(db_engine, tmp_path) -> None:
    insert(db_engine, [entry(at(1, 2), f"flow_{i:02d}", "s", f"x{i}", "completed", baseline=i,
                             saved=i) for i in range(1, 14)])
    _, wb = build(db_engine, tmp_path, lang="en")
    ws = wb["Charts"]
    header = [c.value for c in ws[1]]
    assert len(header) == 1 + 10 and header[-1] == "Other flows"
    assert header[1] == "flow_13"  # largest first
    assert len(ws._charts[0].series) == 10
    row = [c.value for c in ws[2]]
    assert sum(row[1:]) == pytest.approx(sum(range(1, 14)) / 60)
    assert row[-1] == pytest.approx((1 + 2 + 3 + 4) / 60)


# ---- Rows -------------------------------------------------------------------------------


def test_rows_sheet_holds_the_ledger_rows_in_local_time(english) -> None:
    _, wb = english
    ws = wb["Rows"]
    t = labels("en")
    header = [c.value for c in ws[1]]
    assert header == [t[k] for k in (
        "row_id", "row_started", "row_month", "row_flow", "row_step", "row_step_kind",
        "row_case", "row_department", "row_kle_subject", "row_kle_group", "row_mode",
        "row_outcome", "row_policy", "row_robot_seconds", "row_human_minutes", "row_baseline",
        "row_saved")]
    rows = [dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True)]
    first = rows[0]
    assert first[t["row_started"]] == datetime(2026, 1, 1, 0, 30)  # 23:30 UTC, Copenhagen
    assert first[t["row_month"]] == "2026-01"
    assert first[t["row_case"]] == "c_h"
    assert first[t["row_kle_group"]] == "02"
    june = next(r for r in rows if r[t["row_case"]] == "c_f")
    assert june[t["row_started"]] == datetime(2026, 4, 1, 11, 0)  # summer time: UTC+2
    assert june[t["row_human_minutes"]] == pytest.approx(7.0)
    assert [r[t["row_started"]] for r in rows] == sorted(r[t["row_started"]] for r in rows)
    # No personal data: only pseudonymised case references.
    assert all(re.fullmatch(r"c_\w+", r[t["row_case"]]) for r in rows)
    # Modes and outcomes are words in the reader's language, not the ledger's codes.
    awaiting = next(r for r in rows if r[t["row_outcome"]] == t["outcome_awaiting_signoff"])
    assert {r[t["row_mode"]] for r in rows} <= {t[f"value_mode_{m}"] for m in (
        "autonomous", "signoff", "manual", "shadow")}
    assert awaiting[t["row_kle_subject"]] == "x1" and awaiting[t["row_kle_group"]] == "unknown"
    assert awaiting[t["row_department"]] == "unknown"


def test_rows_continue_on_further_sheets_past_the_row_limit(ledger, tmp_path) -> None:
    summary, wb = build(ledger, tmp_path, lang="en", rows_per_sheet=4)
    assert summary.rows_sheets == ["Rows", "Rows (2)", "Rows (3)"]
    sheets = rows_sheets(wb, "Rows")
    assert [ws.title for ws in sheets] == summary.rows_sheets
    assert [list(ws.tables.items())[0] for ws in sheets] == [
        ("tblRows", "A1:Q5"), ("tblRows2", "A1:Q5"), ("tblRows3", "A1:Q4")
    ]
    count, saved = saved_in_rows(wb, "Rows")
    assert (count, saved) == (EXPECTED["runs"], pytest.approx(EXPECTED["saved_minutes"]))
    values = summary_values(wb["Summary"])
    assert values[labels("en")["check_hours"]] == (
        "=(SUM('Rows'!Q2:Q5)+SUM('Rows (2)'!Q2:Q5)+SUM('Rows (3)'!Q2:Q4))/60"
    )


def test_strings_are_escaped_and_illegal_characters_dropped(db_engine, tmp_path) -> None:
    odd = " Børn & Unge <skole> "
    insert(db_engine, [
        entry(at(5, 1), "flow\x01one", "step \"a\"", "z", "completed", baseline=3, saved=3,
              department=odd, kle="17.27.00"),
    ])
    _, wb = build(db_engine, tmp_path, lang="en")
    row = [c.value for c in wb["Rows"][2]]
    assert row[3] == "flowone" and row[4] == 'step "a"' and row[7] == odd
    assert table_rows(wb["By department"], TABLE_NAMES["department"])[0]["Department"] == odd


# ---- filters, empty periods, outputs ----------------------------------------------------


def test_department_and_flow_filters(ledger, tmp_path) -> None:
    summary, wb = build(ledger, tmp_path, lang="en", department=BS)
    assert summary.step_runs == 5
    assert summary.saved_minutes == pytest.approx(EXPECTED["departments"][BS])
    assert summary_values(wb["Summary"])["Department"] == BS
    assert saved_in_rows(wb, "Rows") == (5, pytest.approx(58.0))

    summary, wb = build(ledger, tmp_path, "flow.xlsx", lang="en", flow=PP)
    assert summary.step_runs == 5
    assert saved_in_rows(wb, "Rows") == (5, pytest.approx(0 - 8 + 0 + 6 - 2))


def test_unknown_department_or_flow_is_refused_with_a_hint(ledger, tmp_path) -> None:
    with pytest.raises(ReportError, match="unknown department 'Borgerservise'; did you mean "
                                          "'Borgerservice'"):
        build(ledger, tmp_path, department="Borgerservise")
    with pytest.raises(ReportError, match=r"unknown flow 'nope' \(known: housing_benefit, "):
        build(ledger, tmp_path, flow="nope")
    assert not list((tmp_path / "out").iterdir())  # no half-written file left behind


def test_empty_period_gives_a_valid_workbook_that_says_so(ledger, tmp_path) -> None:
    path = tmp_path / "empty.xlsx"
    summary = build_report(ledger, ReportRequest(date_from="2030-01-01", date_to="2030-03-31",
                                                 lang="en"), path)
    assert summary.empty and summary.step_runs == 0 and summary.hours_saved == 0
    assert summary.rejection_rate is None
    wb = load(path)
    t = labels("en")
    ws = wb[t["sheet_summary"]]
    assert ws["A2"].value == t["empty"]
    values = summary_values(ws)
    assert values[t["hours_saved"]] == 0 and values[t["step_runs"]] == 0
    assert values[t["rejection_rate"]] == t["not_applicable"]
    assert [r[t["col_runs"]] for r in table_rows(wb[t["sheet_month"]], "tblByMonth")] == [0] * 3
    assert wb[t["sheet_rows"]].tables["tblRows"].ref == "A1:Q2"
    assert table_rows(wb[t["sheet_rows"]], "tblRows") == []
    assert wb[t["sheet_charts"]]._charts == []
    assert wb[t["sheet_charts"]]["A1"].value == t["no_chart_data"]


def test_a_department_seen_only_outside_the_period_gives_an_empty_report(ledger, tmp_path):
    summary, _ = build(ledger, tmp_path, department="Byg og Plan")
    assert summary.empty


def test_writes_to_a_file_object_for_web_handlers(ledger) -> None:
    buffer = io.BytesIO()
    with reading(ledger) as session:  # a caller-owned read-only session works as well
        summary = build_report(session, ReportRequest(**YEAR, lang="en"), buffer)
    assert summary.step_runs == EXPECTED["runs"]
    wb = load(io.BytesIO(buffer.getvalue()))
    assert saved_in_rows(wb, "Rows")[0] == EXPECTED["runs"]
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as package:
        assert package.testzip() is None


def test_writes_to_an_unseekable_stream(ledger) -> None:
    class Pipe(io.RawIOBase):  # like a streaming HTTP response: write only
        def __init__(self) -> None:
            self.data = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, b) -> int:
            self.data += b
            return len(b)

    pipe = Pipe()
    build_report(ledger, ReportRequest(**YEAR, lang="en"), pipe)
    wb = load(io.BytesIO(bytes(pipe.data)))
    assert saved_in_rows(wb, "Rows") == (EXPECTED["runs"], pytest.approx(69.0))


def test_output_in_a_missing_folder_is_refused(ledger, tmp_path) -> None:
    with pytest.raises(ReportError, match="does not exist"):
        build_report(ledger, ReportRequest(**YEAR), tmp_path / "nope" / "r.xlsx")
    with pytest.raises(ReportError, match="is a folder"):
        build_report(ledger, ReportRequest(**YEAR), tmp_path)


def test_known_departments_and_flows_for_pickers(ledger) -> None:
    assert known_departments(ledger) == ["Borgerservice", "Byg og Plan", TM, YD]
    assert known_flows(ledger) == [HB, PP]


def test_the_rows_must_add_up_or_the_report_fails(ledger, tmp_path, monkeypatch) -> None:
    """A ledger that changes between the aggregates and the rows never yields a workbook."""
    import casework.report.builder as builder

    real = builder.stream_rows

    def one_row_short(conn, request):
        rows = real(conn, request)
        next(rows)
        return rows

    monkeypatch.setattr(builder, "stream_rows", one_row_short)
    with pytest.raises(ReportError, match="changed while the report was being built"):
        build(ledger, tmp_path)
    assert not list((tmp_path / "out").iterdir())


def test_norwegian_gets_bokmal_labels(ledger, tmp_path) -> None:
    summary, wb = build(ledger, tmp_path, lang="nb")
    assert summary.lang == "nb"
    assert wb.sheetnames[0] == "Oversikt" and summary.rows_sheets == ["Rader"]


def test_earned_autonomy_sheet(ledger: Engine, tmp_path: Path) -> None:
    from casework.db.models import AutonomyState
    from casework.db.session import transaction

    when = datetime(2026, 5, 4, 10, 30, tzinfo=UTC)
    with transaction(ledger) as s:
        s.add(AutonomyState(flow="journal_placement", step="suggest_journal", earned=True,
                            decisions=200, kept=193, min_agreement=0.95, window=200,
                            changed_at=when, measured_at=when))
        s.add(AutonomyState(flow="routing", step="route_letter", earned=False, decisions=40,
                            kept=30, min_agreement=0.9, window=100, changed_at=when,
                            measured_at=when))
    _, wb = build(ledger, tmp_path, lang="en")
    ws = wb["Earned autonomy"]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    assert rows == [
        ["journal_placement", "suggest_journal", "Runs on its own (earned)", 193, 200,
         pytest.approx(0.965), 0.95, 200, datetime(2026, 5, 4, 10, 30)] + [None] * 5,
        ["routing", "route_letter", "Sign-off until earned", 30, 40, 0.75, 0.9, 100,
         datetime(2026, 5, 4, 10, 30)] + [None] * 5,
    ]
    assert ws.cell(2, 6).number_format == "0.0%"


@pytest.mark.parametrize("lang", ["en", "da"])
def test_earned_autonomy_sheet_shows_accuracy_at_the_confidence_threshold(
        ledger: Engine, tmp_path: Path, lang: str) -> None:
    """A step whose policy in force says ``confidence < 0.8``: of its judged suggestions,
    kept at or above 80 % (2 of 2) and below (1 of 3), beside its agreement (3 of 5)."""
    from sqlalchemy import select

    from casework.db.models import LedgerEntry, PolicyVersion, SignoffTask
    from casework.db.session import transaction
    from casework.signoff.tasks import signoff_task_values

    text = (Path(__file__).resolve().parents[2] / "policies" / "journal_placement.yaml"
            ).read_text(encoding="utf-8")
    when = datetime(2026, 5, 4, 10, 30, tzinfo=UTC)
    with reading(ledger) as s:
        ledger_ids = list(s.scalars(select(LedgerEntry.id).order_by(LedgerEntry.id).limit(5)))
    with transaction(ledger) as s:
        s.add(PolicyVersion(hash="j" * 64, flow="journal_placement",
                            path="policies/journal_placement.yaml", content=text,
                            first_seen_at=when))
        for ledger_id, (confidence, decision) in zip(ledger_ids, [
                (0.9, "approved"), (0.8, "approved"), (0.6, "approved"), (0.5, "rejected"),
                (0.2, "amended")], strict=True):
            values = signoff_task_values(
                ledger_entry_id=ledger_id, flow="journal_placement", flow_run_id="r",
                step="suggest_journal", case_ref="c", department="byggeri", roles=[],
                departments=[], suggestion={"kle": "02.34.02", "confidence": confidence},
                reasons=[], case_summary=None, deadline_hours=None, policy_hash="j" * 64,
                now=when)
            s.add(SignoffTask(**{**values, "status": "decided", "decision": decision,
                                 "decided_at": when}))
    _, wb = build(ledger, tmp_path, lang=lang)
    t = labels(lang)
    ws = wb[t["sheet_autonomy"]]
    header = [c.value for c in ws[1]]
    [row] = [dict(zip(header, (c.value for c in r), strict=True))
             for r in ws.iter_rows(min_row=2)]
    assert row == {
        t["col_flow"]: "journal_placement", t["col_step"]: "suggest_journal",
        t["col_mode_now"]: t["mode_threshold"], t["col_kept"]: 3, t["col_decisions"]: 5,
        t["col_agreement"]: 0.6, t["col_min_agreement"]: None, t["col_window"]: 200,
        t["col_mode_changed"]: None, t["col_threshold"]: 0.8, t["col_kept_above"]: 1.0,
        t["col_judged_above"]: 2, t["col_kept_below"]: pytest.approx(1 / 3),
        t["col_judged_below"]: 3}
    assert ws.cell(2, 10).number_format == "0%" and ws.cell(2, 11).number_format == "0.0%"
    assert ws.tables[TABLE_NAMES["autonomy"]].ref == "A1:N2"


@pytest.mark.parametrize("lang", ["en", "da", "nb"])
def test_work_items_sheet(ledger: Engine, tmp_path: Path, lang: str) -> None:
    """Managers see each flow's queue: done, waiting for a caseworker, failed, handed over."""
    from casework.db.models import WorkItem
    from casework.db.session import transaction

    when = datetime(2026, 5, 4, 10, 30, tzinfo=UTC)
    states = ["done"] * 3 + ["awaiting_signoff"] * 2 + ["failed", "manual"]
    with transaction(ledger) as s:
        for n, state in enumerate(states):
            s.add(WorkItem(id=f"item-{n}", flow="intake", key=f"message:{n}", state=state,
                           payload={}, attempts=0, max_attempts=3, created_at=when,
                           updated_at=when))
    _, wb = build(ledger, tmp_path, lang=lang)
    t = labels(lang)
    ws = wb[t["sheet_items"]]
    header = [c.value for c in next(ws.iter_rows(min_row=1, max_row=1))]
    assert header[1:] == [t[f"item_{s}"] for s in (
        "new", "in_progress", "awaiting_signoff", "ready", "done", "failed", "manual")]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    assert rows == [["intake", 0, 0, 2, 0, 3, 1, 1]]
