"""The workbook's small sheets, written with openpyxl in write-only mode.

Write-only mode supports tables, charts, frozen panes and column widths, with two catches
this module handles: panes and widths must be set before the first row is appended (they are
written at the top of the sheet XML), and table columns must be named by hand (openpyxl cannot
read the header cells back from a write-only sheet).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

from casework.report.labels import outcome_label, value_labels
from casework.report.query import Aggregates, Counts
from casework.report.request import ReportRequest
from casework.report.rowsheet import (
    ID_COLUMN,
    ROW_COLUMNS,
    ROW_DATE_FORMAT,
    ROW_NUMBER_FORMAT,
    SAVED_COLUMN,
)

TABLE_STYLE = "TableStyleMedium2"
HOURS = "0.0"
FTE = "0.00"
PERCENT = "0.0%"
COUNT = "#,##0"
MINUTES = "0.0"
MAX_CHART_SERIES = 10  # more flows than this: the largest nine plus "other flows"

TABLE_NAMES = {
    "month": "tblByMonth",
    "flow_step": "tblByFlowStep",
    "department": "tblByDepartment",
    "kle": "tblByKLE",
    "estimate": "tblEstimateVsMeasured",
    "autonomy": "tblEarnedAutonomy",
    "items": "tblWorkItems",
    "chart": "tblChartHoursByFlow",
    "rows": "tblRows",
}


@dataclass(frozen=True)
class Col:
    header: str
    width: float
    number_format: str | None = None


@dataclass(frozen=True)
class RowsSheet:
    """One Rows sheet: its title, its table's name and how many ledger rows it holds."""

    title: str
    table: str
    rows: int

    @property
    def last_row(self) -> int:
        return max(self.rows, 1) + 1


def unique_headers(headers: Sequence[str]) -> list[str]:
    """Excel table headers must be unique (case-insensitive), non-empty, single-line."""
    seen: set[str] = set()
    out = []
    for raw in headers:
        base = " ".join(clean(str(raw)).split()) or "-"
        name, n = base, 2
        while name.casefold() in seen:
            name, n = f"{base} ({n})", n + 1
        seen.add(name.casefold())
        out.append(name)
    return out


def clean(value: Any) -> Any:
    """Strings from the ledger without the control characters XML cannot carry."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def _cell(ws: WriteOnlyWorksheet, value: Any, number_format: str | None = None,
          bold: bool = False) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=clean(value))
    if number_format and value is not None and not isinstance(value, str):
        cell.number_format = number_format
    if bold:
        cell.font = Font(bold=True)
    return cell


def add_table(ws: WriteOnlyWorksheet, name: str, ref: str, headers: Sequence[str]) -> Table:
    table = Table(displayName=name, ref=ref)
    table.tableColumns = [TableColumn(id=i, name=h) for i, h in enumerate(headers, 1)]
    table.autoFilter = AutoFilter(ref=ref)
    table.tableStyleInfo = TableStyleInfo(
        name=TABLE_STYLE, showFirstColumn=False, showLastColumn=False,
        showRowStripes=True, showColumnStripes=False,
    )
    with warnings.catch_warnings():  # "add table columns manually": done above
        warnings.simplefilter("ignore")
        ws.add_table(table)
    return table


def write_table(ws: WriteOnlyWorksheet, name: str, cols: Sequence[Col],
                rows: Iterable[Sequence[Any]]) -> int:
    """Header + rows starting at A1 as an Excel table; returns the number of data rows.

    An empty table still spans one (blank) data row: Excel expects a body row.
    """
    headers = unique_headers([c.header for c in cols])
    for i, (col, header) in enumerate(zip(cols, headers, strict=True), 1):
        # wide enough for the header and the filter button, within reason
        width = max(col.width, min(len(header) + 4, 44))
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    ws.append(headers)
    n = 0
    for row in rows:
        ws.append([_cell(ws, v, c.number_format) for v, c in zip(row, cols, strict=True)])
        n += 1
    add_table(ws, name, f"A1:{get_column_letter(len(cols))}{max(n, 1) + 1}", headers)
    return n


_OUTCOME_ORDER = ("completed", "approved", "amended", "rejected", "awaiting_signoff", "manual",
                  "failed", "escalated", "done_by_person")


def _outcome_order(item: tuple[str, int, float]) -> tuple[int, str]:
    outcome = item[0]
    known = outcome in _OUTCOME_ORDER
    return (_OUTCOME_ORDER.index(outcome) if known else len(_OUTCOME_ORDER), outcome)


def _text_categories(chart: BarChart, ref: Reference) -> None:
    """Month labels are text: a string reference (``set_categories`` would make it numeric)."""
    for series in chart.series:
        series.cat = AxDataSource(strRef=StrRef(f=str(ref)))


# ---- the workbook --------------------------------------------------------------------------


class ReportWorkbook:
    """Builds every sheet except the Rows data (see ``rowsheet``)."""

    def __init__(self, request: ReportRequest, texts: dict[str, str], agg: Aggregates,
                 rows_sheets: list[RowsSheet], generated_at: datetime) -> None:
        self.request = request
        self.t = texts
        self.agg = agg
        self.rows_sheets = rows_sheets
        self.generated_at = generated_at
        self.wb = Workbook(write_only=True)
        self.row_worksheets: list[WriteOnlyWorksheet] = []
        self.date_style = 0
        self.number_style = 0

    def fte(self, hours: float) -> float:
        return hours / self.request.hours_per_fte

    def build(self) -> Workbook:
        t = self.t
        summary = self.wb.create_sheet(t["sheet_summary"])
        month = self.wb.create_sheet(t["sheet_month"])
        flow_step = self.wb.create_sheet(t["sheet_flow_step"])
        department = self.wb.create_sheet(t["sheet_department"])
        kle = self.wb.create_sheet(t["sheet_kle"])
        estimate = self.wb.create_sheet(t["sheet_estimate"])
        charts = self.wb.create_sheet(t["sheet_charts"])
        autonomy = self.wb.create_sheet(t["sheet_autonomy"])
        items = self.wb.create_sheet(t["sheet_items"])
        self.row_worksheets = [self.wb.create_sheet(s.title) for s in self.rows_sheets]
        # Before the first row: a write-only sheet writes its properties with it.
        _print_layout(summary, one_page=True, title_rows=None)
        _print_layout(charts, one_page=True, title_rows=None)  # no chart split over pages
        for ws in (month, flow_step, department, kle, estimate, autonomy, items,
                   *self.row_worksheets):
            _print_layout(ws, one_page=False, title_rows="1:1")

        self._summary(summary)
        self._by_month(month)
        self._by_flow_step(flow_step)
        self._by_department(department)
        self._by_kle(kle)
        self._estimate(estimate)
        self._autonomy(autonomy)
        self._items(items)
        self._charts(charts, month)
        for ws, spec in zip(self.row_worksheets, self.rows_sheets, strict=True):
            self._rows_header(ws, spec)
        return self.wb

    # ---- Summary ---------------------------------------------------------------------------

    def _summary(self, ws: WriteOnlyWorksheet) -> None:
        t, req, total = self.t, self.request, self.agg.total
        ws.column_dimensions["A"].width = 72
        ws.column_dimensions["B"].width = 22
        ws.column_dimensions["C"].width = 16
        ws.sheet_view.showGridLines = False

        def line(label: str = "", value: Any = None, fmt: str | None = None, *,
                 bold: bool = False, extra: Any = None, extra_fmt: str | None = None) -> None:
            cells = [_cell(ws, label or None, bold=bold)]
            if value is not None or extra is not None:
                value_cell = _cell(ws, value, fmt, bold=bold)
                value_cell.alignment = Alignment(horizontal="right")
                cells.append(value_cell)
            if extra is not None:
                cells.append(_cell(ws, extra, extra_fmt, bold=bold))
            ws.append(cells)

        def share(value: float | None) -> Any:
            return t["not_applicable"] if value is None else value

        title = WriteOnlyCell(ws, value=t["title"])
        title.font = Font(bold=True, size=14)
        ws.append([title])
        if total.runs == 0:
            note = WriteOnlyCell(ws, value=t["empty"])
            note.font = Font(bold=True, color="C00000")
            ws.append([note])
        else:
            ws.append([])
        line(t["period"], f"{req.date_from.isoformat()} – {req.date_to.isoformat()}")
        line(t["department"], req.department or t["all"])
        line(t["flow"], req.flow or t["all"])
        line(t["timezone"], req.timezone)
        line(t["hours_per_fte"], req.hours_per_fte,
             COUNT if float(req.hours_per_fte).is_integer() else "#,##0.0#")
        line(t["generated"], self.generated_at, "yyyy-mm-dd hh:mm")
        line()
        line(t["key_figures"], bold=True)
        line(t["hours_saved"], total.hours, HOURS, bold=True)
        line(t["fte"], self.fte(total.hours), FTE, bold=True)
        line(t["cases"], total.cases or 0, COUNT)
        line(t["step_runs"], total.runs, COUNT)
        line(t["share_autonomous"], share(total.share_autonomous), PERCENT)
        line(t["share_signed_off"], share(total.share_signed_off), PERCENT)
        line(t["rejection_rate"], share(total.rejection_rate), PERCENT)
        line(t["awaiting"], total.awaiting, COUNT)
        line()
        line(t["by_outcome"], t["count"], extra=t["col_hours_saved"], bold=True)
        for outcome, runs, saved in sorted(self.agg.outcomes, key=_outcome_order):
            line(outcome_label(t, outcome), runs, COUNT, extra=saved / 60.0, extra_fmt=HOURS)
        line()
        line(t["check"], bold=True)
        saved_sum = "+".join(
            f"SUM({quote_sheetname(s.title)}!{SAVED_COLUMN}2:{SAVED_COLUMN}{s.last_row})"
            for s in self.rows_sheets
        )
        runs_sum = "+".join(
            f"COUNTA({quote_sheetname(s.title)}!{ID_COLUMN}2:{ID_COLUMN}{s.last_row})"
            for s in self.rows_sheets
        )
        line(t["check_hours"], f"=({saved_sum})/60", HOURS)
        line(t["check_runs"], f"={runs_sum}", COUNT)
        line()
        line(t["method"], bold=True)
        for key in ("method_1", "method_2", "method_3", "method_4", "method_5", "method_6"):
            ws.append([t[key]])  # long lines run on over the empty cells to their right

    # ---- breakdowns ------------------------------------------------------------------------

    def _standard_cols(self, *, cases: bool, share_autonomous: bool = False,
                       rejection_rate: bool = False) -> list[Col]:
        t = self.t
        cols = [Col(t["col_runs"], 12, COUNT)]
        if cases:
            cols.append(Col(t["col_cases"], 10, COUNT))
        cols += [
            Col(t["col_autonomous"], 13, COUNT),
            Col(t["col_signed_off"], 12, COUNT),
            Col(t["col_rejected"], 10, COUNT),
            Col(t["col_other"], 22, COUNT),
        ]
        if share_autonomous:
            cols.append(Col(t["col_share_autonomous"], 14, PERCENT))
        if rejection_rate:
            cols.append(Col(t["col_rejection_rate"], 14, PERCENT))
        cols += [Col(t["col_hours_saved"], 14, HOURS), Col(t["col_fte"], 9, FTE)]
        return cols

    def _standard_values(self, c: Counts, *, cases: bool, share_autonomous: bool = False,
                         rejection_rate: bool = False) -> list[Any]:
        values: list[Any] = [c.runs]
        if cases:
            values.append(c.cases or 0)
        values += [c.autonomous, c.signed_off, c.rejected, c.other]
        if share_autonomous:
            values.append(c.share_autonomous)
        if rejection_rate:
            values.append(c.rejection_rate)
        values += [c.hours, self.fte(c.hours)]
        return values

    def _by_month(self, ws: WriteOnlyWorksheet) -> None:
        cols = [Col(self.t["col_month"], 10)] + self._standard_cols(
            cases=False, share_autonomous=True
        )
        rows = (
            [label] + self._standard_values(c, cases=False, share_autonomous=True)
            for label, c in self.agg.by_month
        )
        write_table(ws, TABLE_NAMES["month"], cols, rows)

    def _by_flow_step(self, ws: WriteOnlyWorksheet) -> None:
        t = self.t
        cols = [Col(t["col_flow"], 24), Col(t["col_step"], 26), Col(t["col_step_kind"], 13)]
        cols += self._standard_cols(cases=False, rejection_rate=True)
        words = value_labels(t, "kind")
        rows = (
            [flow, step, words.get(kind, kind)]
            + self._standard_values(c, cases=False, rejection_rate=True)
            for (flow, step, kind), c in self.agg.by_flow_step
        )
        write_table(ws, TABLE_NAMES["flow_step"], cols, rows)

    def _autonomy(self, ws: WriteOnlyWorksheet) -> None:
        """Each step with earned autonomy or a confidence threshold: current mode, agreement
        and what it needs, and how often judged suggestions were kept at or above the
        threshold and below it (is the calibrated confidence worth trusting?)."""
        t = self.t
        cols = [Col(t["col_flow"], 24), Col(t["col_step"], 26), Col(t["col_mode_now"], 22),
                Col(t["col_kept"], 12, "#,##0"), Col(t["col_decisions"], 12, "#,##0"),
                Col(t["col_agreement"], 12, "0.0%"), Col(t["col_min_agreement"], 14, "0.0%"),
                Col(t["col_window"], 10, "#,##0"),
                Col(t["col_mode_changed"], 18, "yyyy-mm-dd hh:mm"),
                Col(t["col_threshold"], 14, "0%"), Col(t["col_kept_above"], 16, "0.0%"),
                Col(t["col_judged_above"], 14, "#,##0"), Col(t["col_kept_below"], 16, "0.0%"),
                Col(t["col_judged_below"], 14, "#,##0")]
        earned = {(a.flow, a.step): a for a in self.agg.autonomy}
        thresholds = {(r.flow, r.step): r for r in self.agg.thresholds}

        def row(key: tuple[str, str]) -> list[Any]:
            a, r = earned.get(key), thresholds.get(key)
            if a is not None:
                values = [t["mode_earned"] if a.earned else t["mode_not_earned"], a.kept,
                          a.decisions, a.kept / a.decisions if a.decisions else None,
                          a.min_agreement, a.window, a.changed_at.replace(tzinfo=None)]
            else:  # a threshold only: agreement over the same judgements, nothing to earn
                assert r is not None
                values = [t["mode_threshold"], r.kept, r.decisions,
                          r.kept / r.decisions if r.decisions else None, None, r.window, None]
            calibrated = ([None] * 5 if r is None else
                          [r.threshold, r.above_rate, r.above, r.below_rate, r.below])
            return [*key, *values, *calibrated]

        write_table(ws, TABLE_NAMES["autonomy"], cols,
                    (row(key) for key in sorted(earned.keys() | thresholds.keys())))

    def _items(self, ws: WriteOnlyWorksheet) -> None:
        """The work-item queue of each flow now: done, waiting for a caseworker, failed."""
        t = self.t
        states = ("new", "in_progress", "awaiting_signoff", "ready", "done", "failed", "manual")
        cols = [Col(t["col_flow"], 24)] + [Col(t[f"item_{s}"], 16, "#,##0") for s in states]
        rows = ([flow] + [counts.get(s, 0) for s in states] for flow, counts in self.agg.items)
        write_table(ws, TABLE_NAMES["items"], cols, rows)

    def _by_department(self, ws: WriteOnlyWorksheet) -> None:
        t = self.t
        cols = [Col(t["col_department"], 26)] + self._standard_cols(
            cases=True, share_autonomous=True
        )
        rows = (
            [dept if dept is not None else t["unknown"]]
            + self._standard_values(c, cases=True, share_autonomous=True)
            for dept, c in self.agg.by_department
        )
        write_table(ws, TABLE_NAMES["department"], cols, rows)

    def _by_kle(self, ws: WriteOnlyWorksheet) -> None:
        t = self.t
        cols = [Col(t["col_kle_group"], 16)] + self._standard_cols(
            cases=False, share_autonomous=True
        )
        rows = (
            [group if group is not None else t["unknown"]]
            + self._standard_values(c, cases=False, share_autonomous=True)
            for group, c in self.agg.by_kle
        )
        write_table(ws, TABLE_NAMES["kle"], cols, rows)

    def _estimate(self, ws: WriteOnlyWorksheet) -> None:
        t = self.t
        cols = [
            Col(t["col_flow"], 24),
            Col(t["col_step"], 26),
            Col(t["col_baseline"], 18, MINUTES),
            Col(t["col_runs"], 12, COUNT),
            Col(t["col_measured_n"], 14, COUNT),
            Col(t["col_median"], 16, MINUTES),
            Col(t["col_diff"], 20, MINUTES),
            Col(t["col_ratio"], 16, PERCENT),
        ]
        rows = []
        for e in self.agg.estimates:
            median = e.median_minutes
            diff = None if median is None else median - e.baseline_minutes
            ratio = None if median is None or e.baseline_minutes <= 0 else (
                median / e.baseline_minutes
            )
            rows.append([e.flow, e.step, e.baseline_minutes, e.runs, e.measured, median, diff,
                         ratio])
        write_table(ws, TABLE_NAMES["estimate"], cols, rows)

    # ---- charts ----------------------------------------------------------------------------

    def chart_flows(self) -> tuple[list[str], dict[str, str]]:
        """Series of the hours chart: flows by hours saved (largest first), and which series
        each flow is drawn in (the smallest ones share "other flows" beyond the cap)."""
        totals: dict[str, float] = {}
        for (_, flow), minutes in self.agg.month_flow_minutes.items():
            totals[flow] = totals.get(flow, 0.0) + minutes
        ordered = sorted(totals, key=lambda f: (-abs(totals[f]), f))
        if len(ordered) <= MAX_CHART_SERIES:
            return ordered, {f: f for f in ordered}
        keep = ordered[: MAX_CHART_SERIES - 1]
        other = self.t["other_flows"]
        series_of = {f: (f if f in keep else other) for f in ordered}
        return keep + [other], series_of

    def _charts(self, ws: WriteOnlyWorksheet, month_ws: WriteOnlyWorksheet) -> None:
        t = self.t
        series, series_of = self.chart_flows()
        cols = [Col(t["col_month"], 10)] + [Col(s, max(10, min(len(s) + 2, 24)), HOURS)
                                              for s in series]
        minutes: dict[tuple[str, str], float] = {}
        for (label, flow), m in self.agg.month_flow_minutes.items():
            key = (label, series_of[flow])
            minutes[key] = minutes.get(key, 0.0) + m
        rows = [
            [label] + [minutes.get((label, s), 0.0) / 60.0 for s in series]
            for label, _ in self.agg.by_month
        ]
        if not series:
            ws.append([_cell(ws, t["no_chart_data"], bold=True)])
            return
        n_months = write_table(ws, TABLE_NAMES["chart"], cols, rows)
        anchor_col = get_column_letter(len(cols) + 2)

        hours = BarChart()
        hours.type = "col"
        hours.grouping = "stacked"
        hours.overlap = 100
        hours.title = t["chart_hours_title"]
        hours.y_axis.title = t["axis_hours"]
        hours.x_axis.title = t["axis_month"]
        hours.y_axis.number_format = HOURS
        hours.add_data(Reference(ws, min_col=2, max_col=len(cols), min_row=1,
                                 max_row=n_months + 1), titles_from_data=True)
        _text_categories(hours, Reference(ws, min_col=1, min_row=2, max_row=n_months + 1))
        self._axes(hours)
        ws.add_chart(hours, f"{anchor_col}1")

        # By month: A month, B runs, C autonomous, D signed off, E rejected.
        outcomes = BarChart()
        outcomes.type = "col"
        outcomes.grouping = "stacked"
        outcomes.overlap = 100
        outcomes.title = t["chart_outcomes_title"]
        outcomes.y_axis.title = t["axis_runs"]
        outcomes.x_axis.title = t["axis_month"]
        outcomes.add_data(Reference(month_ws, min_col=3, max_col=5, min_row=1,
                                    max_row=n_months + 1), titles_from_data=True)
        _text_categories(outcomes,
                         Reference(month_ws, min_col=1, min_row=2, max_row=n_months + 1))
        self._axes(outcomes)
        ws.add_chart(outcomes, f"{anchor_col}20")

    @staticmethod
    def _axes(chart: BarChart) -> None:
        chart.width = 22
        chart.height = 9
        # openpyxl >= 3.1 leaves ``delete`` unset, which Excel reads as "hide the axis".
        chart.x_axis.delete = False
        chart.y_axis.delete = False
        chart.legend.position = "b"

    # ---- Rows (header, layout and table; the data rows are streamed in later) --------------

    def _rows_header(self, ws: WriteOnlyWorksheet, spec: RowsSheet) -> None:
        t = self.t
        headers = unique_headers([t[c.key] for c in ROW_COLUMNS])
        for i, col in enumerate(ROW_COLUMNS, 1):
            ws.column_dimensions[get_column_letter(i)].width = col.width
        ws.freeze_panes = "A2"
        ws.append(headers)
        add_table(ws, spec.table, f"A1:{get_column_letter(len(ROW_COLUMNS))}{spec.last_row}",
                  headers)
        if not self.date_style:
            date_cell = WriteOnlyCell(ws)
            date_cell.number_format = ROW_DATE_FORMAT
            number_cell = WriteOnlyCell(ws)
            number_cell.number_format = ROW_NUMBER_FORMAT
            self.date_style = date_cell.style_id
            self.number_style = number_cell.style_id


def _print_layout(ws: WriteOnlyWorksheet, *, one_page: bool, title_rows: str | None) -> None:
    """Printed or saved as PDF: landscape A4, as wide as the page; the summary and the charts
    each on one page (values beside their labels, no chart cut in two), the tables with their
    header row repeated on every page."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = "9"  # A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1 if one_page else 0
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.5
    if title_rows:
        ws.print_title_rows = title_rows
