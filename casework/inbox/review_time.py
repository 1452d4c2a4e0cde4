"""Honest review time: the seconds a person was actively on a task, once per person.

Each opening of a task page is a ``TaskView`` (its *anchor*: ``active_seconds`` 0). The page's
script counts only active time — the tab is visible and she gave input (key, pointer, scroll,
touch) within the last ``active_input_seconds`` — and reports it as spans ("from 8.2 to 3.0
seconds ago") with each heartbeat and with the decision. Each span becomes a ``TaskView`` row
of its own (``opened_at`` → ``last_seen_at``, ``active_seconds`` its length), clamped to the
wall time since the view's previous report, so a page can never claim more than the clock.

A person's review time is the *union* of her spans: two tabs on the same task count once.
A page without script (its anchor never reported) counts as before: from opening to the next
opening by the same person or the decision, capped by the idle cap. Everyone's time is summed
(every person's review is a cost).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.db.models import TaskView

MAX_SPANS = 200  # per report
SLACK = timedelta(seconds=1)  # network delay between the page's clock and ours


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def open_view(session: Session, task_id: str, user_id: str, now: datetime) -> TaskView:
    view = TaskView(signoff_task_id=task_id, user_id=user_id, opened_at=now, last_seen_at=now,
                    active_seconds=0.0)
    session.add(view)
    session.flush()
    return view


def parse_spans(text: str) -> list[tuple[float, float]]:
    """``"8.2,3.0;2.5,0"`` (seconds ago: start, end) → pairs; malformed parts are dropped."""
    spans = []
    for part in (text or "").split(";")[:MAX_SPANS]:
        try:
            start, end = (float(x) for x in part.split(","))
        except ValueError:
            continue
        if 0 <= end < start < 86_400:
            spans.append((start, end))
    return spans


def heartbeat(session: Session, view_id: int, task_id: str, user_id: str, now: datetime,
              cap: float, spans: list[tuple[float, float]] | None = None) -> bool:
    """Record the page's active spans since its last report; False: not this user's view."""
    view = session.get(TaskView, view_id)
    if view is None or view.signoff_task_id != task_id or view.user_id != user_id \
            or view.active_seconds != 0:
        return False
    since = _aware(view.last_seen_at) - SLACK
    for start_ago, end_ago in spans or []:
        start = max(now - timedelta(seconds=start_ago), since, _aware(view.opened_at))
        end = min(now - timedelta(seconds=end_ago), now)
        seconds = (end - start).total_seconds()
        if seconds > 0.05:
            session.add(TaskView(signoff_task_id=task_id, user_id=user_id, opened_at=start,
                                 last_seen_at=end, active_seconds=seconds))
    # The anchor remembers the page reported (a page with script counts only its spans).
    view.last_seen_at = max(now, _aware(view.last_seen_at) + timedelta(microseconds=1))
    return True


def _union(intervals: list[tuple[datetime, datetime]]) -> float:
    total, current = 0.0, None
    for start, end in sorted(intervals):
        if current is None or start > current[1]:
            if current is not None:
                total += (current[1] - current[0]).total_seconds()
            current = [start, end]
        else:
            current[1] = max(current[1], end)
    if current is not None:
        total += (current[1] - current[0]).total_seconds()
    return total


def human_seconds(session: Session, task_id: str, now: datetime, cap: float) -> float:
    """Everyone's active time on this task: per person the union of her active spans (and of
    the capped stretches of pages that ran no script), summed over people."""
    rows = session.scalars(select(TaskView).where(TaskView.signoff_task_id == task_id)
                           .order_by(TaskView.user_id, TaskView.opened_at, TaskView.id)).all()
    by_user: dict[str, list[TaskView]] = {}
    for row in rows:
        by_user.setdefault(row.user_id, []).append(row)
    total = 0.0
    for views in by_user.values():
        intervals = [(_aware(v.opened_at), min(_aware(v.last_seen_at), now))
                     for v in views if v.active_seconds > 0]
        anchors = [v for v in views if v.active_seconds == 0]
        for i, view in enumerate(anchors):
            opened = _aware(view.opened_at)
            if _aware(view.last_seen_at) > opened:
                continue  # its script reported: only its spans count
            following = anchors[i + 1] if i + 1 < len(anchors) else None
            end = min(_aware(following.opened_at) if following else now, now,
                      opened + timedelta(seconds=cap))
            if end > opened:
                intervals.append((opened, end))
        total += _union(intervals)
    return round(total, 3)
