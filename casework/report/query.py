"""Reading the ledger for a report: aggregates in the database, rows as a stream.

Everything runs on one connection inside one read transaction, so the aggregates and the
streamed rows see the same snapshot (SQLite: a read transaction is a snapshot under WAL;
PostgreSQL: REPEATABLE READ when we open the connection ourselves). The builder still checks
that the streamed rows add up to the aggregates and fails loudly if they do not.

Bounded memory whatever the ledger size, and portable SQL only (SQLite >= 3.25, PostgreSQL):

* one ``GROUP BY`` at the finest grain the sheets need (month, flow, step, department, KLE
  main group, baseline, outcome); its result grows with the number of combinations that
  occur, never with the number of rows, and is merged into the sheets here;
* months are a ``CASE`` over the UTC instants of local month starts (no date functions,
  exact across daylight-saving changes); KLE main groups are ``substr(kle_subject, 1, 2)``;
* distinct cases are ``COUNT(DISTINCT case_ref)`` (in total and per department);
* medians use window functions: ``row_number()`` and ``count()`` over each flow/step/baseline,
  keeping only the middle one or two rows, so Python receives at most two values per group
  and the database does the sorting (spilling to disk when it must). SQL has no portable
  ``MEDIAN``/``PERCENTILE_CONT`` (SQLite lacks both).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, case, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from casework.db.models import LedgerEntry
from casework.oversight import autonomy
from casework.oversight.autonomy import AutonomyRow
from casework.oversight.threshold_accuracy import ThresholdAccuracy, threshold_rows
from casework.report.request import ReportError, ReportRequest

LEDGER = LedgerEntry.__table__
C = LEDGER.c

SIGNED_OFF = ("approved", "amended")
DECIDED = ("approved", "amended", "rejected")
AWAITING = "awaiting_signoff"
AUTONOMOUS = "completed"

CHANGED = "the ledger changed while the report was being built; try again"

_KLE_GROUP = re.compile(r"[0-9]{2}")

Source = Engine | Session | Connection


def kle_group(subject: str | None) -> str | None:
    """Main group of a KLE subject (``02.34.02`` → ``02``); None when absent or malformed."""
    if not subject:
        return None
    head = subject[:2]
    return head if _KLE_GROUP.fullmatch(head) else None


@contextmanager
def open_connection(source: Source) -> Iterator[Connection]:
    """A connection whose statements all read one snapshot of the ledger.

    An engine gets its own read-only transaction (REPEATABLE READ outside SQLite). A session or
    connection is used as it is: the caller owns its transaction (the builder's row check
    catches a caller whose isolation level lets the ledger change mid-report).
    """
    if isinstance(source, Session):
        yield source.connection()
    elif isinstance(source, Connection):
        yield source
    elif isinstance(source, Engine):
        engine = source.execution_options(casework_readonly=True)
        if engine.dialect.name != "sqlite":
            engine = engine.execution_options(isolation_level="REPEATABLE READ")
        with engine.connect() as conn:
            try:
                yield conn
            finally:
                conn.rollback()
    else:
        raise TypeError(f"expected an Engine, Session or Connection, not {type(source).__name__}")


# ---- filters -------------------------------------------------------------------------------


def period_filter(request: ReportRequest) -> list[ColumnElement[bool]]:
    start, end = request.utc_bounds()
    conds: list[ColumnElement[bool]] = [C.started_at >= start, C.started_at < end]
    if request.department is not None:
        conds.append(C.department == request.department)
    if request.flow is not None:
        conds.append(C.flow == request.flow)
    return conds


def known_departments(source: Source) -> list[str]:
    """Every department that occurs in the ledger (any period), sorted: for pickers."""
    q = select(C.department).where(C.department.is_not(None)).distinct().order_by(C.department)
    with open_connection(source) as conn:
        return list(conn.execute(q).scalars())


def known_flows(source: Source) -> list[str]:
    """Every flow that occurs in the ledger (any period), sorted: for pickers."""
    with open_connection(source) as conn:
        return list(conn.execute(select(C.flow).distinct().order_by(C.flow)).scalars())


def check_filters(conn: Connection, request: ReportRequest) -> None:
    """A department or flow that never occurs in the ledger is almost always a typo."""
    for what, column, value, known in (
        ("department", C.department, request.department, known_departments),
        ("flow", C.flow, request.flow, known_flows),
    ):
        if value is None:
            continue
        if conn.execute(select(literal(1)).where(column == value).limit(1)).first() is not None:
            continue
        names = known(conn)
        close = difflib.get_close_matches(value, names, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        shown = ", ".join(names[:10]) + (", …" if len(names) > 10 else "")
        listing = f" (known: {shown})" if names else " (the ledger is empty)"
        raise ReportError(f"unknown {what} '{value}'{hint}{listing}")


# ---- aggregates ----------------------------------------------------------------------------


@dataclass
class Counts:
    """Step runs of one group, split by what happened, and their saved minutes."""

    runs: int = 0
    autonomous: int = 0
    signed_off: int = 0
    rejected: int = 0
    awaiting: int = 0
    saved_minutes: float = 0.0
    cases: int | None = None  # distinct cases, where the database counted them

    @property
    def other(self) -> int:
        return self.runs - self.autonomous - self.signed_off - self.rejected

    @property
    def hours(self) -> float:
        return self.saved_minutes / 60.0

    def add(self, other: Counts) -> None:
        self.runs += other.runs
        self.autonomous += other.autonomous
        self.signed_off += other.signed_off
        self.rejected += other.rejected
        self.awaiting += other.awaiting
        self.saved_minutes += other.saved_minutes

    @property
    def share_autonomous(self) -> float | None:
        return self.autonomous / self.runs if self.runs else None

    @property
    def share_signed_off(self) -> float | None:
        return self.signed_off / self.runs if self.runs else None

    @property
    def rejection_rate(self) -> float | None:
        decided = self.signed_off + self.rejected
        return self.rejected / decided if decided else None


@dataclass
class Estimate:
    """Planned minutes of one flow/step/baseline against the measured review time."""

    flow: str
    step: str
    baseline_minutes: float
    runs: int
    measured: int  # decided sign-offs (approved, amended, rejected) with a measured time
    median_minutes: float | None = None


@dataclass
class Aggregates:
    total: Counts
    outcomes: list[tuple[str, int, float]]  # outcome, runs, saved minutes
    by_month: list[tuple[str, Counts]]  # every month of the period, in order
    by_flow_step: list[tuple[tuple[str, str, str], Counts]]
    by_department: list[tuple[str | None, Counts]]
    by_kle: list[tuple[str | None, Counts]]
    month_flow_minutes: dict[tuple[str, str], float] = field(default_factory=dict)
    estimates: list[Estimate] = field(default_factory=list)
    autonomy: list[AutonomyRow] = field(default_factory=list)
    thresholds: list[ThresholdAccuracy] = field(default_factory=list)
    items: list[tuple[str, dict[str, int]]] = field(default_factory=list)  # flow, state -> n


def autonomy_rows(conn: Connection, request: ReportRequest) -> list[AutonomyRow]:
    """Current earned-autonomy states (per step, so not filtered by department)."""
    return autonomy.autonomy_rows(conn, request.flow)


def _month_index(months: list[tuple[str, datetime, datetime]]) -> Any:
    if len(months) == 1:
        return literal(0)
    whens = [(C.started_at < end, i) for i, (_, _, end) in enumerate(months[:-1])]
    return case(*whens, else_=len(months) - 1)


def _counts_of(outcome: str, runs: int, saved: float) -> Counts:
    return Counts(
        runs=runs,
        autonomous=runs if outcome == AUTONOMOUS else 0,
        signed_off=runs if outcome in SIGNED_OFF else 0,
        rejected=runs if outcome == "rejected" else 0,
        awaiting=runs if outcome == AWAITING else 0,
        saved_minutes=saved,
    )


def aggregate(conn: Connection, request: ReportRequest) -> Aggregates:
    """All breakdowns from one GROUP BY over the finest grain the report needs (month, flow,
    step, department, KLE main group, baseline, outcome), merged here. The result has one row
    per combination that occurs, however many ledger rows there are."""
    conds = period_filter(request)
    months = request.months()
    sub = (
        select(
            _month_index(months).label("m"),
            C.flow, C.step, C.step_kind, C.department,
            func.substr(C.kle_subject, 1, 2).label("head"),
            C.baseline_minutes, C.outcome, C.saved_minutes,
        )
        .where(*conds)
        .subquery()
    )
    keys = (sub.c.m, sub.c.flow, sub.c.step, sub.c.step_kind, sub.c.department, sub.c.head,
            sub.c.baseline_minutes, sub.c.outcome)
    grouped = select(
        *keys,
        func.count().label("runs"),
        func.coalesce(func.sum(sub.c.saved_minutes), 0.0).label("saved"),
    ).group_by(*keys)

    total = Counts()
    outcomes: dict[str, list[Any]] = {}
    month_counts = [Counts() for _ in months]
    month_flow: dict[tuple[str, str], float] = {}
    flow_step: dict[tuple[str, str, str], Counts] = {}
    department: dict[str | None, Counts] = {}
    kle: dict[str | None, Counts] = {}
    estimates: dict[tuple[str, str, float], Estimate] = {}
    for r in conn.execute(grouped):
        runs, saved = int(r.runs), float(r.saved)
        counts = _counts_of(r.outcome, runs, saved)
        total.add(counts)
        per_outcome = outcomes.setdefault(r.outcome, [0, 0.0])
        per_outcome[0] += runs
        per_outcome[1] += saved
        m = int(r.m)
        month_counts[m].add(counts)
        key = (months[m][0], r.flow)
        month_flow[key] = month_flow.get(key, 0.0) + saved
        flow_step.setdefault((r.flow, r.step, r.step_kind), Counts()).add(counts)
        department.setdefault(r.department, Counts()).add(counts)
        kle.setdefault(kle_group(r.head), Counts()).add(counts)
        baseline = float(r.baseline_minutes)
        est = estimates.get((r.flow, r.step, baseline))
        if est is None:
            est = estimates[(r.flow, r.step, baseline)] = Estimate(r.flow, r.step, baseline, 0, 0)
        est.runs += runs
        if r.outcome in DECIDED:
            est.measured += runs

    # Distinct cases cannot be added up across groups: the database counts them (in total and
    # per department; per step they would about equal the step runs).
    total.cases = conn.execute(
        select(func.count(C.case_ref.distinct())).where(*conds)
    ).scalar_one()
    try:
        for r in conn.execute(
            select(C.department, func.count(C.case_ref.distinct()).label("cases"))
            .where(*conds).group_by(C.department)
        ):
            department[r.department].cases = int(r.cases)
    except KeyError:  # the snapshot changed under a caller-owned transaction
        raise ReportError(CHANGED) from None

    _add_medians(conn, conds, estimates)

    def ordered(items: dict[Any, Counts]) -> list[tuple[Any, Counts]]:
        return sorted(items.items(), key=lambda item: (item[0] is None, item[0] or ""))

    return Aggregates(
        total=total,
        outcomes=[(o, int(n), float(m)) for o, (n, m) in sorted(outcomes.items())],
        by_month=[(label, c) for (label, _, _), c in zip(months, month_counts, strict=True)],
        by_flow_step=sorted(flow_step.items()),
        by_department=ordered(department),
        by_kle=ordered(kle),
        month_flow_minutes=month_flow,
        estimates=sorted(estimates.values(), key=lambda e: (e.flow, e.step, e.baseline_minutes)),
        autonomy=autonomy_rows(conn, request),
        thresholds=threshold_rows(conn, request.flow),
        items=item_counts(conn, request),
    )


def item_counts(conn: Connection, request: ReportRequest) -> list[tuple[str, dict[str, int]]]:
    """Work items per flow and state, as the queue stands now (new, waiting for a caseworker,
    done, failed, handed to a person): what the period's savings leave out."""
    from casework.db.models import WorkItem

    query = select(WorkItem.flow, WorkItem.state, func.count()).group_by(WorkItem.flow,
                                                                          WorkItem.state)
    if request.flow:
        query = query.where(WorkItem.flow == request.flow)
    found: dict[str, dict[str, int]] = {}
    for flow, state, n in conn.execute(query):
        found.setdefault(flow, {})[state] = int(n)
    return sorted(found.items())


def _add_medians(
    conn: Connection,
    conds: list[ColumnElement[bool]],
    estimates: dict[tuple[str, str, float], Estimate],
) -> None:
    """Median human review time of each group's decided sign-offs, in minutes.

    Window functions (SQLite >= 3.25, PostgreSQL) number each group's times in order; only the
    middle one (odd count) or two (even count) come back, so this holds two values per group
    whatever the group sizes, and the database does the sorting (spilling to disk if needed).
    """
    part = (C.flow, C.step, C.baseline_minutes)
    ranked = (
        select(
            *part,
            C.human_seconds,
            func.row_number().over(partition_by=part, order_by=C.human_seconds).label("rn"),
            func.count().over(partition_by=part).label("n"),
        )
        .where(*conds, C.outcome.in_(DECIDED))
        .subquery()
    )
    middle = select(ranked.c.flow, ranked.c.step, ranked.c.baseline_minutes,
                    ranked.c.human_seconds).where(
        ranked.c.rn.in_([(ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2])
    )
    sums: dict[tuple[str, str, float], list[float]] = {}
    for r in conn.execute(middle):
        acc = sums.setdefault((r.flow, r.step, float(r.baseline_minutes)), [0.0, 0])
        acc[0] += float(r.human_seconds or 0.0)
        acc[1] += 1
    for key, est in estimates.items():
        if est.measured:
            if key not in sums:  # the snapshot changed under a caller-owned transaction
                raise ReportError(CHANGED)
            seconds, count = sums[key]
            est.median_minutes = seconds / count / 60.0


# ---- rows ----------------------------------------------------------------------------------

ROW_COLUMNS = (
    C.id,
    C.started_at,
    C.flow,
    C.step,
    C.step_kind,
    C.case_ref,
    C.department,
    C.kle_subject,
    C.mode,
    C.outcome,
    C.policy_hash,
    C.robot_seconds,
    C.human_seconds,
    C.baseline_minutes,
    C.saved_minutes,
)


def stream_rows(conn: Connection, request: ReportRequest, batch: int = 5000) -> Iterator[Any]:
    """The period's ledger rows in time order, fetched ``batch`` at a time (server-side cursor
    on PostgreSQL), never all at once."""
    q = select(*ROW_COLUMNS).where(*period_filter(request)).order_by(C.started_at, C.id)
    result = conn.execute(q, execution_options={"yield_per": batch})
    try:
        for part in result.partitions():
            yield from part
    finally:
        result.close()
