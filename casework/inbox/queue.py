"""The queue page's queries: filtered, sorted, paginated, with count badges; all by index.

Every query is limited to the user's departments (``visible_to``) and reads by index with
LIMIT/OFFSET, so 100,000 open tasks never get loaded: the badges from the covering index
``ix_signoff_queue_counts``, the page in the order of ``ix_signoff_open_deadline`` or
``ix_signoff_open_created`` (migration 0005; measured by ``bench/inbox_latency.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from casework.db.models import SignoffTask
from casework.inbox.identity import User, visible_to

Due = Literal["all", "overdue", "today", "week"]
Sort = Literal["deadline", "created"]


@dataclass(frozen=True)
class QueueFilter:
    department: str | None = None
    flow: str | None = None
    due: Due = "all"
    sort: Sort = "deadline"
    page: int = 1


@dataclass
class QueueCounts:
    due: dict[str, int] = field(default_factory=dict)
    departments: dict[str, int] = field(default_factory=dict)
    flows: dict[str, int] = field(default_factory=dict)


@dataclass
class QueuePage:
    tasks: list[SignoffTask]
    counts: QueueCounts
    total: int
    page: int
    pages: int


LOCAL_TIME = ZoneInfo("Europe/Copenhagen")


def _bounds(now: datetime) -> tuple[datetime, datetime]:
    """End of today (local time, as UTC: stored times are UTC) and one week from now."""
    local = now.astimezone(LOCAL_TIME)
    midnight = datetime(local.year, local.month, local.day, tzinfo=LOCAL_TIME) + timedelta(days=1)
    return midnight.astimezone(UTC), now + timedelta(days=7)


# Badge counts per scope (database, departments, roles): counting is proportional to the
# visible tasks (tens of thousands for a big team), the page itself is not. Kept a few seconds
# (``counts_ttl``) and dropped whenever this process changes a task (``invalidate_counts``),
# so a caseworker's own decision shows at once; tasks created by flows elsewhere show within
# the TTL.
_COUNTS: dict[tuple[Any, ...], tuple[float, list[Any]]] = {}
_COUNTS_MAX = 1000


def invalidate_counts() -> None:
    _COUNTS.clear()


def _grouped_counts(session: Session, user: User, base: list[Any], now: datetime,
                    ttl: float) -> list[Any]:
    key = (str(session.get_bind().url), user.departments, user.roles)
    clock = time.monotonic()
    cached = _COUNTS.get(key)
    if ttl > 0 and cached is not None and clock - cached[0] < ttl:
        return cached[1]
    end_today, end_week = _bounds(now)
    t = SignoffTask
    grouped = list(session.execute(
        select(
            t.department, t.flow, func.count(), func.count(t.deadline),
            func.sum(case((t.deadline < now, 1), else_=0)),
            func.sum(case(((t.deadline >= now) & (t.deadline < end_today), 1), else_=0)),
            func.sum(case(((t.deadline >= now) & (t.deadline < end_week), 1), else_=0)),
        ).where(*base).group_by(t.department, t.flow)
    ).all())
    if ttl > 0:
        if len(_COUNTS) >= _COUNTS_MAX:
            _COUNTS.clear()
        _COUNTS[key] = (clock, grouped)
    return grouped


def load_queue(session: Session, user: User, flt: QueueFilter, *, page_size: int,
               now: datetime | None = None, counts_ttl: float = 0.0) -> QueuePage:
    now = now or datetime.now(UTC)
    end_today, end_week = _bounds(now)
    t = SignoffTask
    base = [t.status == "awaiting", visible_to(user)]

    # One grouped pass for all badges (per department and flow, with due buckets).
    grouped = _grouped_counts(session, user, base, now, counts_ttl)
    counts = QueueCounts(due={"all": 0, "overdue": 0, "today": 0, "week": 0})
    dated = 0  # tasks in scope with a deadline: they come before those without one
    for department, flow, n, with_deadline, overdue, today, week in grouped:
        counts.departments[department] = counts.departments.get(department, 0) + n
        counts.flows[flow] = counts.flows.get(flow, 0) + n
        in_scope = ((flt.department is None or department == flt.department)
                    and (flt.flow is None or flow == flt.flow))
        if in_scope:
            counts.due["all"] += n
            dated += with_deadline
            counts.due["overdue"] += overdue or 0
            counts.due["today"] += today or 0
            counts.due["week"] += week or 0
    total = counts.due[flt.due]

    conditions = list(base)
    if flt.department is not None:
        conditions.append(t.department == flt.department)
    if flt.flow is not None:
        conditions.append(t.flow == flt.flow)
    if flt.due == "overdue":
        conditions.append(t.deadline < now)
    elif flt.due == "today":
        conditions.extend([t.deadline >= now, t.deadline < end_today])
    elif flt.due == "week":
        conditions.extend([t.deadline >= now, t.deadline < end_week])
    pages = max(1, -(-total // page_size))
    page = min(max(1, flt.page), pages)
    offset = (page - 1) * page_size

    def rows(where: list[Any], order: list[Any], skip: int, limit: int) -> list[SignoffTask]:
        return list(session.scalars(select(t).where(*where).order_by(*order)
                                    .limit(limit).offset(skip)))

    if flt.sort == "created":
        tasks = rows(conditions, [t.created_at, t.id], offset, page_size)
    else:
        # Deadline order, tasks without a deadline last. Two plain index-ordered reads (dated,
        # then undated) instead of ORDER BY "deadline IS NULL", which no index can serve and
        # which made the database sort every visible task for each page.
        tasks = rows([*conditions, t.deadline.is_not(None)], [t.deadline, t.created_at, t.id],
                     offset, page_size)
        if len(tasks) < page_size and flt.due == "all":
            tasks += rows([*conditions, t.deadline.is_(None)], [t.created_at, t.id],
                          max(0, offset - dated), page_size - len(tasks))
    return QueuePage(tasks=tasks, counts=counts, total=total, page=page, pages=pages)


def load_history(session: Session, user: User, *, page: int, page_size: int
                 ) -> tuple[list[SignoffTask], bool]:
    """The user's own decisions, newest first; second value: is there a next page."""
    rows = list(session.scalars(
        select(SignoffTask).where(SignoffTask.decided_by == user.id, visible_to(user))
        .order_by(SignoffTask.decided_at.desc()).limit(page_size + 1)
        .offset((max(1, page) - 1) * page_size)))
    return rows[:page_size], len(rows) > page_size


def next_task(session: Session, user: User, *, after: str | None = None) -> str | None:
    """The next open task for "Approve and next": the earliest deadline (then the oldest)
    that this user may see and nobody else holds, other than ``after``."""
    t = SignoffTask
    where = [t.status == "awaiting", visible_to(user),
             (t.claimed_by.is_(None)) | (t.claimed_by == user.id)]
    if after is not None:
        where.append(t.id != after)
    for extra, order in (((t.deadline.is_not(None)), [t.deadline, t.created_at, t.id]),
                         ((t.deadline.is_(None)), [t.created_at, t.id])):
        found = session.scalar(select(t.id).where(*where, extra).order_by(*order).limit(1))
        if found is not None:
            return found
    return None
