"""``build_report``: ledger → time-saved workbook, in bounded memory.

1. One read transaction (see ``query.open_connection``).
2. Aggregates by GROUP BY in the database; medians by ORDER BY/LIMIT per group.
3. openpyxl (write-only) writes the workbook with every sheet, table, chart and style, with
   the Rows sheets holding only their header row.
4. That small package is copied into the output zip; on the way, each Rows sheet's
   ``<sheetData>`` gets the ledger rows streamed in from a server-side cursor
   (``rowsheet.RowsWriter``), straight into the compressor.
5. The streamed rows must add up to the aggregates, or the report fails (never a workbook
   whose summary differs from its rows).
"""

from __future__ import annotations

import io
import math
import os
import queue
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from casework.report.labels import labels, value_labels
from casework.report.query import (
    CHANGED,
    Aggregates,
    Source,
    aggregate,
    check_filters,
    open_connection,
    stream_rows,
)
from casework.report.request import ReportError, ReportRequest, ReportSummary
from casework.report.rowsheet import EXCEL_MAX_DATA_ROWS, RowsWriter
from casework.report.workbook import TABLE_NAMES, ReportWorkbook, RowsSheet

# Deflate level of the package. The Rows sheets dominate time and size; they are compressed on a
# second thread (see ``_Compressor``). Measured on 1M rows, 2 cores: level 1 takes 25 s and
# 140 MB, level 3 28 s / 134 MB, level 6 34 s / 116 MB.
ZIP_LEVEL = 1


def build_report(
    source: Source,
    request: ReportRequest,
    output: IO[bytes] | str | os.PathLike[str],
    *,
    generated_at: datetime | None = None,
    rows_per_sheet: int = EXCEL_MAX_DATA_ROWS,
) -> ReportSummary:
    """Write the time-saved workbook for ``request`` to ``output`` and return its key figures.

    ``source`` is an Engine (preferred: the report opens its own snapshot transaction), a
    Session or a Connection (used as they are). ``output`` is a path (written to a temporary
    file beside it and renamed when complete) or a binary file object (a web handler's buffer;
    it need not be seekable; for large periods prefer a ``SpooledTemporaryFile``). Raises
    ``ReportError`` with a one-line message for anything the user can fix (unknown department
    or flow, unwritable output) or when the ledger changed under a caller-owned transaction;
    after an error, whatever was written to a file object must be discarded.
    """
    if not 1 <= rows_per_sheet <= EXCEL_MAX_DATA_ROWS:
        raise ValueError(f"rows_per_sheet must be between 1 and {EXCEL_MAX_DATA_ROWS}")
    texts = labels(request.lang)
    generated = (generated_at or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)

    with _open_output(output) as out, open_connection(source) as conn:
        check_filters(conn, request)
        agg = aggregate(conn, request)
        _check_consistent(agg)
        sheets = plan_rows_sheets(texts["sheet_rows"], agg.total.runs, rows_per_sheet)

        book = ReportWorkbook(request, texts, agg, sheets, generated)
        skeleton = io.BytesIO()
        book.build().save(skeleton)

        writer = RowsWriter(
            request.zone, request.utc_bounds(), book.date_style, book.number_style,
            texts["unknown"],
            values={c: value_labels(texts, c) for c in ("kind", "mode", "outcome")},
        )
        parts = {ws.path.lstrip("/"): spec for ws, spec in zip(book.row_worksheets, sheets,
                                                               strict=True)}
        with closing(stream_rows(conn, request)) as records:
            _assemble(skeleton, out, parts, writer, records)
            if next(records, None) is not None:
                raise ReportError(CHANGED)
        if writer.rows != agg.total.runs or not math.isclose(
            writer.saved_minutes, agg.total.saved_minutes, rel_tol=1e-9, abs_tol=1e-6
        ):
            raise ReportError(CHANGED)

    total = agg.total
    return ReportSummary(
        date_from=request.date_from,
        date_to=request.date_to,
        department=request.department,
        flow=request.flow,
        lang=request.lang,
        timezone=request.timezone,
        hours_per_fte=request.hours_per_fte,
        step_runs=total.runs,
        cases=total.cases or 0,
        saved_minutes=total.saved_minutes,
        hours_saved=total.hours,
        fte=total.hours / request.hours_per_fte,
        autonomous=total.autonomous,
        signed_off=total.signed_off,
        rejected=total.rejected,
        awaiting_signoff=total.awaiting,
        share_autonomous=total.share_autonomous,
        share_signed_off=total.share_signed_off,
        rejection_rate=total.rejection_rate,
        rows_sheets=[s.title for s in sheets],
        empty=total.runs == 0,
    )


def plan_rows_sheets(title: str, total_rows: int, per_sheet: int) -> list[RowsSheet]:
    """Excel holds 1,048,575 data rows per sheet: larger periods continue on "Rows (2)", …"""
    count = max(1, math.ceil(total_rows / per_sheet))
    base = TABLE_NAMES["rows"]
    return [
        RowsSheet(
            title=title if i == 0 else f"{title} ({i + 1})",
            table=base if i == 0 else f"{base}{i + 1}",
            rows=max(0, min(per_sheet, total_rows - i * per_sheet)),
        )
        for i in range(count)
    ]


def _check_consistent(agg: Aggregates) -> None:
    """Every breakdown must cover exactly the period's rows (one snapshot)."""
    total = agg.total
    for groups in (agg.by_month, agg.by_flow_step, agg.by_department, agg.by_kle):
        runs = sum(c.runs for _, c in groups)
        saved = sum(c.saved_minutes for _, c in groups)
        if runs != total.runs or not math.isclose(
            saved, total.saved_minutes, rel_tol=1e-9, abs_tol=1e-6
        ):
            raise ReportError(CHANGED)
    if sum(runs for _, runs, _ in agg.outcomes) != total.runs:
        raise ReportError(CHANGED)


def _assemble(
    skeleton: io.BytesIO,
    out: IO[bytes],
    rows_parts: dict[str, RowsSheet],
    writer: RowsWriter,
    records: Iterator[object],
) -> None:
    """Copy openpyxl's package to ``out``, streaming the ledger rows into each Rows sheet."""
    skeleton.seek(0)
    with zipfile.ZipFile(skeleton) as src, zipfile.ZipFile(
        out, "w", zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL
    ) as dst:
        done = 0
        for info in src.infolist():
            data = src.read(info.filename)
            spec = rows_parts.get(info.filename)
            if spec is None:
                dst.writestr(info.filename, data)
                continue
            head, sep, tail = data.rpartition(b"</sheetData>")
            if not sep:
                raise RuntimeError(f"{info.filename}: no <sheetData> in openpyxl's output")
            with dst.open(info.filename, "w", force_zip64=True) as part, _Compressor(part) as pipe:
                pipe.write(head)
                for chunk in writer.chunks(records, spec.rows):
                    pipe.write(chunk)
                pipe.write(sep + tail)
            done += 1
        if done != len(rows_parts):
            raise RuntimeError("a Rows sheet is missing from openpyxl's output")


class _Compressor:
    """Hands chunks to a thread that compresses and writes them.

    zlib and file writes release the GIL, so on two or more cores deflating overlaps with
    producing the XML (which holds the GIL). The queue is bounded: at most ``depth`` chunks
    (~1 MB each) wait, so memory stays flat. A failure on either side stops both.
    """

    def __init__(self, part: IO[bytes], depth: int = 8) -> None:
        self._part = part
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="report-deflate", daemon=True)

    def __enter__(self) -> _Compressor:
        self._thread.start()
        return self

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self._error is None:  # after a failure keep draining so the producer never blocks
                try:
                    self._part.write(chunk)
                except BaseException as exc:  # re-raised in the producer's thread
                    self._error = exc

    def write(self, chunk: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(chunk)

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._queue.put(None)
        self._thread.join()
        if exc_type is None and self._error is not None:
            raise self._error


@contextmanager
def _open_output(output: IO[bytes] | str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """A path is written via a temporary file in the same folder, renamed on success only."""
    if not isinstance(output, str | os.PathLike):
        yield output
        return
    path = Path(output)
    if path.is_dir():
        raise ReportError(f"cannot write '{path}': it is a folder; give a file name")
    if not path.parent.is_dir():
        raise ReportError(f"cannot write '{path}': the folder '{path.parent}' does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as exc:
        raise ReportError(f"cannot write '{path}': {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
