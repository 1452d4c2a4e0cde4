"""The Rows sheets: ledger rows serialised straight to SpreadsheetML, one row at a time.

openpyxl's write-only mode streams too, but builds a cell object and an element per cell
(about 40,000 cells a second here), which would take minutes for a million rows. openpyxl still
writes each Rows sheet (header row, column widths, frozen pane, table); this module only
produces the ``<row>`` elements that go inside its ``<sheetData>``. Strings are written inline
(``t="inlineStr"``), so nothing accumulates in a shared-strings table: memory stays flat.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from openpyxl.utils import get_column_letter

from casework.report.query import CHANGED, kle_group
from casework.report.request import ReportError

EXCEL_MAX_DATA_ROWS = 1_048_575  # 1,048,576 rows per sheet, one of them the header
_EXCEL_EPOCH = datetime(1899, 12, 30)
_DAY = timedelta(days=1)

# Characters XML 1.0 cannot carry at all; removed rather than failing the whole report.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_CACHE_LIMIT = 50_000


@dataclass(frozen=True)
class RowColumn:
    key: str  # label key in casework.report.labels
    width: float
    number_format: str | None = None  # numeric columns only


ROW_DATE_FORMAT = "yyyy-mm-dd hh:mm:ss"
ROW_NUMBER_FORMAT = "0.00"

# The Rows sheet layout; the column letters are hard-wired in ``RowsWriter.chunks``.
# ``SAVED_COLUMN`` is what the Summary's check formula adds up.
ROW_COLUMNS: tuple[RowColumn, ...] = (
    RowColumn("row_id", 38),
    RowColumn("row_started", 19, ROW_DATE_FORMAT),
    RowColumn("row_month", 9),
    RowColumn("row_flow", 22),
    RowColumn("row_step", 24),
    RowColumn("row_step_kind", 12),
    RowColumn("row_case", 24),
    RowColumn("row_department", 20),
    RowColumn("row_kle_subject", 11),
    RowColumn("row_kle_group", 9),
    RowColumn("row_mode", 12),
    RowColumn("row_outcome", 17),
    RowColumn("row_policy", 16),
    RowColumn("row_robot_seconds", 11, ROW_NUMBER_FORMAT),
    RowColumn("row_human_minutes", 11, ROW_NUMBER_FORMAT),
    RowColumn("row_baseline", 11, ROW_NUMBER_FORMAT),
    RowColumn("row_saved", 11, ROW_NUMBER_FORMAT),
)
SAVED_COLUMN = get_column_letter(len(ROW_COLUMNS))
ID_COLUMN = "A"


def _text(value: str) -> str:
    """``<t>`` element for a string cell, escaped and with significant spaces kept."""
    if (
        value.isprintable()  # no control characters, surrogates or non-characters
        and "&" not in value
        and "<" not in value
        and ">" not in value
        and not value.startswith(" ")
        and not value.endswith(" ")
    ):
        return f"<t>{value}</t>"
    value = escape(_ILLEGAL.sub("", value))
    if value[:1].isspace() or value[-1:].isspace():
        return f'<t xml:space="preserve">{value}</t>'
    return f"<t>{value}</t>"


def utc_offsets(
    zone: ZoneInfo, start: datetime, end: datetime
) -> tuple[list[datetime], list[timedelta]]:
    """The zone's UTC offsets over [start, end) (aware datetimes).

    ``offsets[bisect_right(bounds, t)]`` is the offset at the naive-UTC instant ``t``: a table
    lookup, ~25x faster per row than ``astimezone`` (DST changes at most twice a year).
    """
    first = start.astimezone(UTC).replace(tzinfo=None)
    last = end.astimezone(UTC).replace(tzinfo=None)

    def offset(t: datetime) -> timedelta:
        return t.replace(tzinfo=UTC).astimezone(zone).utcoffset() or timedelta(0)

    bounds: list[datetime] = []
    offsets = [offset(first)]
    day = first
    while day < last:
        nxt = min(day + timedelta(days=1), last)
        if offset(nxt) != offsets[-1]:  # a change within this day: find its second
            lo, hi = 0, int((nxt - day).total_seconds())
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(day + timedelta(seconds=mid)) == offsets[-1]:
                    lo = mid
                else:
                    hi = mid
            bounds.append(day + timedelta(seconds=hi))
            offsets.append(offset(bounds[-1]))
        day = nxt
    return bounds, offsets


class RowsWriter:
    """Turns ledger records into ``<row>`` XML and keeps the totals it wrote."""

    def __init__(self, zone: ZoneInfo, period: tuple[datetime, datetime], date_style: int,
                 number_style: int, unknown: str,
                 values: dict[str, dict[str, str]] | None = None) -> None:
        self.bounds, self.offsets = utc_offsets(zone, *period)
        self.date_style = date_style
        self.number_style = number_style
        self.unknown = unknown
        self.rows = 0
        self.saved_minutes = 0.0
        self._cache: dict[str, str] = {}
        # Codes shown as words in the reader's language, per column (mode, outcome, kind).
        self._values = {column: {code: _text(text) for code, text in words.items()}
                        for column, words in (values or {}).items()}

    def _cached(self, value: str) -> str:
        """Low-cardinality strings (flow, step, department, ...) are escaped once."""
        text = self._cache.get(value)
        if text is None:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            text = self._cache[value] = _text(value)
        return text

    def chunks(
        self, records: Iterator[Any], count: int, first_row: int = 2, rows_per_chunk: int = 2000
    ) -> Iterator[bytes]:
        """Serialise the next ``count`` records as rows ``first_row``… (UTF-8 chunks).

        Takes exactly ``count`` records from ``records`` (so several sheets can share one
        stream) and fails if the stream ends early. This loop runs once per ledger row, so it
        is written for speed: cached escaping, one f-string per row.
        """
        if count <= 0:
            return
        bounds, offsets, cached, get = self.bounds, self.offsets, self._cached, self._cache.get
        kinds, modes, outcomes = (self._values.get(c, {}).get
                                  for c in ("kind", "mode", "outcome"))
        st, end = '" t="inlineStr"><is>', "</is></c>"  # string cell, after the reference
        num = f'" s="{self.number_style}"><v>'  # numeric cell with the number format
        dt = f'" s="{self.date_style}"><v>'  # date-time cell
        unknown = cached(self.unknown)
        kle_texts: dict[str | None, tuple[str, str]] = {None: ("", unknown)}
        month_texts: dict[int, str] = {}
        isfinite, epoch, day = math.isfinite, _EXCEL_EPOCH, _DAY
        buf: list[str] = []
        written = 0
        saved_total = 0.0
        r = first_row
        for rec in records:
            (row_id, started, flow, step, kind, case_ref, dept, kle, mode, outcome, policy,
             robot_s, human_s, baseline, saved) = rec
            if started.tzinfo is not None:  # PostgreSQL: aware; SQLite: naive UTC
                started = started.replace(tzinfo=None) - started.utcoffset()
            local = started + offsets[bisect_right(bounds, started)]
            robot_s = float(robot_s or 0.0)
            human_m = float(human_s or 0.0) / 60.0
            baseline = float(baseline)
            saved = float(saved)
            if not isfinite(robot_s + human_m + baseline + saved):
                raise ReportError(f"ledger row {row_id} has a time that is not a number")
            saved_total += saved
            month = month_texts.get(local.year * 100 + local.month)
            if month is None:
                month = month_texts[local.year * 100 + local.month] = (
                    f"<t>{local.year:04d}-{local.month:02d}</t>"
                )
            kle_t = kle_texts.get(kle)
            if kle_t is None:
                group = kle_group(kle)
                kle_t = kle_texts[kle] = (cached(kle), unknown if group is None else cached(group))
            rs = str(r)
            buf.append(
                f'<row r="{rs}">'
                f'<c r="A{rs}{st}{_text(row_id)}{end}'
                f'<c r="B{rs}{dt}{(local - epoch) / day!r}</v></c>'
                f'<c r="C{rs}{st}{month}{end}'
                f'<c r="D{rs}{st}{get(flow) or cached(flow)}{end}'
                f'<c r="E{rs}{st}{get(step) or cached(step)}{end}'
                f'<c r="F{rs}{st}{kinds(kind) or cached(kind)}{end}'
                f'<c r="G{rs}{st}{_text(case_ref)}{end}'
                f'<c r="H{rs}{st}{unknown if dept is None else get(dept) or cached(dept)}{end}'
                + ("" if kle is None else f'<c r="I{rs}{st}{kle_t[0]}{end}')
                + f'<c r="J{rs}{st}{kle_t[1]}{end}'
                f'<c r="K{rs}{st}{modes(mode) or cached(mode)}{end}'
                f'<c r="L{rs}{st}{outcomes(outcome) or cached(outcome)}{end}'
                f'<c r="M{rs}{st}{get(policy) or cached(policy)}{end}'
                f'<c r="N{rs}{num}{robot_s!r}</v></c>'
                f'<c r="O{rs}{num}{human_m!r}</v></c>'
                f'<c r="P{rs}{num}{baseline!r}</v></c>'
                f'<c r="Q{rs}{num}{saved!r}</v></c>'
                "</row>"
            )
            r += 1
            written += 1
            if len(buf) >= rows_per_chunk:
                yield "".join(buf).encode()
                buf.clear()
            if written == count:
                break
        if buf:
            yield "".join(buf).encode()
        self.rows += written
        self.saved_minutes += saved_total
        if written != count:
            raise ReportError(CHANGED)
