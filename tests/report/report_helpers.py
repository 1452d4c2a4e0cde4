"""Test data and helpers for the report tests: a small ledger whose every figure can be worked
out by hand (``EXPECTED``), and readers for the generated workbook.

Imported as a top-level module (pytest's default "prepend" import mode puts this folder on
``sys.path``); the name is unique to avoid clashing with other test folders.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
from sqlalchemy import Engine

from casework.db.models import LedgerEntry
from casework.db.session import transaction

HB, PP = "housing_benefit", "parking_permit"
BS, YD, TM = "Borgerservice", "Ydelser", "Teknik og Miljø"


def entry(
    started: datetime,
    flow: str,
    step: str,
    case: str,
    outcome: str,
    *,
    human_s: float = 0.0,
    baseline: float,
    saved: float,
    department: str | None = BS,
    kle: str | None = "02.34.02",
    kind: str = "preparatory",
    mode: str | None = None,
) -> dict[str, Any]:
    routed = {"completed": "autonomous", "failed": "autonomous", "manual": "manual"}
    return {
        "id": str(uuid.uuid4()),
        "flow": flow,
        "flow_run_id": str(uuid.uuid4()),
        "step": step,
        "step_kind": kind,
        "case_ref": f"c_{case}",
        "policy_hash": "a" * 64,
        "mode": mode or routed.get(outcome, "signoff"),
        "outcome": outcome,
        "robot_seconds": 1.5,
        "human_seconds": human_s,
        "baseline_minutes": baseline,
        "saved_minutes": saved,
        "department": department,
        "kle_subject": kle,
        "reasons": [],
        "error": None,
        "started_at": started,
        "finished_at": started,
        "decided_at": None,
    }


def at(month: int, day: int, hour: int = 9, year: int = 2026, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


LEDGER: list[dict[str, Any]] = [
    # January (the first one is 2025-12-31 23:30 UTC = 2026-01-01 00:30 in Copenhagen)
    entry(at(12, 31, 23, year=2025, minute=30), HB, "classify", "h", "completed",
          baseline=10, saved=10),
    entry(at(1, 5), HB, "classify", "a", "completed", baseline=10, saved=10),
    entry(at(1, 5, 10), HB, "draft_decision", "a", "approved", human_s=300, baseline=30,
          saved=25, kind="decision"),
    entry(at(1, 20), HB, "draft_decision", "b", "rejected", human_s=600, baseline=30,
          saved=-10, kle="32.24.02", kind="decision"),
    # February
    entry(at(2, 3), HB, "draft_decision", "c", "amended", human_s=900, baseline=30, saved=15,
          department=YD, kle=None, kind="decision"),
    entry(at(2, 10), PP, "classify", "d", "failed", baseline=4, saved=0, department=TM,
          kle="05.13.12"),
    # March
    entry(at(3, 15), PP, "verify_address", "d", "manual", human_s=480, baseline=8, saved=-8,
          department=TM, kle="05.13.12"),
    entry(at(3, 16), PP, "draft_decision", "e", "awaiting_signoff", baseline=12, saved=0,
          department=None, kle="x1", kind="decision"),
    entry(at(3, 20), PP, "draft_decision", "e", "approved", human_s=360, baseline=12, saved=6,
          department=None, kle=None, kind="decision"),
    # April
    entry(at(4, 1), HB, "draft_decision", "f", "approved", human_s=420, baseline=30, saved=23,
          kind="decision"),
    entry(at(4, 2), PP, "classify", "g", "escalated", human_s=120, baseline=4, saved=-2,
          department=TM, kle="05.13.12"),
    # Outside 2026 (local time): 2026-12-31 23:30 UTC is already 2027 in Copenhagen.
    entry(at(12, 31, 23, minute=30), HB, "classify", "i", "completed", baseline=10, saved=10),
    entry(at(6, 1, year=2025), HB, "classify", "j", "completed", baseline=10, saved=10,
          department="Byg og Plan"),
]

# What the 2026 report must show (worked out by hand from LEDGER).
EXPECTED: dict[str, Any] = {
    "runs": 11,
    "cases": 8,
    "saved_minutes": 69.0,
    "autonomous": 2,
    "signed_off": 4,
    "rejected": 1,
    "awaiting": 1,
    "rejection_rate": 1 / 5,
    "months": {"2026-01": 35.0, "2026-02": 15.0, "2026-03": -2.0, "2026-04": 21.0},
    "departments": {BS: 58.0, TM: -10.0, YD: 15.0, None: 6.0},
    "kle": {"02": 68.0, "05": -10.0, "32": -10.0, None: 21.0},
    # flow, step, baseline -> (decided sign-offs, median minutes)
    "medians": {(HB, "draft_decision", 30.0): (4, 8.5), (PP, "draft_decision", 12.0): (1, 6.0),
                (HB, "classify", 10.0): (0, None)},
}


def insert(engine: Engine, rows: Iterable[dict[str, Any]]) -> None:
    with transaction(engine) as session:
        session.add_all(LedgerEntry(**row) for row in rows)


# ---- reading the workbook back ----------------------------------------------------------


def table_rows(ws: Any, name: str) -> list[dict[str, Any]]:
    """The data rows of table ``name`` as dicts keyed by its column names."""
    table = ws.tables[name]
    cells = list(ws[table.ref])
    headers = [c.value for c in cells[0]]
    out = []
    for row in cells[1:]:
        values = [c.value for c in row]
        if any(v is not None for v in values):
            out.append(dict(zip(headers, values, strict=True)))
    return out


def summary_values(ws: Any) -> dict[str, Any]:
    """Summary sheet as label (column A) -> value (column B)."""
    return {row[0]: row[1] if len(row) > 1 else None
            for row in ws.iter_rows(values_only=True) if row and row[0]}


def rows_sheets(wb: openpyxl.Workbook, title: str) -> list[Any]:
    return [ws for ws in wb.worksheets if ws.title == title or ws.title.startswith(f"{title} (")]


def load(path: Path | Any) -> openpyxl.Workbook:
    return openpyxl.load_workbook(path)
