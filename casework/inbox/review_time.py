"""Active review time: page opened → decided, with idle gaps capped.

Each opening of a task page is a ``TaskView``. While the page is visible a tiny script posts a
heartbeat every 30 s; each heartbeat adds ``min(gap since last sign, idle cap)``. At decision
time the open stretch since the last sign is added the same way. Without JavaScript this is
simply ``min(decided − opened, idle cap)``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.db.models import TaskView


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _gap(since: datetime, now: datetime, cap: float) -> float:
    return max(0.0, min((now - _aware(since)).total_seconds(), cap))


def open_view(session: Session, task_id: str, user_id: str, now: datetime) -> TaskView:
    view = TaskView(signoff_task_id=task_id, user_id=user_id, opened_at=now, last_seen_at=now,
                    active_seconds=0.0)
    session.add(view)
    session.flush()
    return view


def heartbeat(session: Session, view_id: int, task_id: str, user_id: str, now: datetime,
              cap: float) -> bool:
    view = session.get(TaskView, view_id)
    if view is None or view.signoff_task_id != task_id or view.user_id != user_id:
        return False
    view.active_seconds += _gap(view.last_seen_at, now, cap)
    view.last_seen_at = now
    return True


def human_seconds(session: Session, task_id: str, now: datetime, cap: float) -> float:
    """All people's active time on this task (everyone's review time is a cost).

    A view's open stretch ends when the same user opens the page again (reload, KLE search)
    or at the decision, so reloading never counts the same minutes twice.
    """
    views = session.scalars(select(TaskView).where(TaskView.signoff_task_id == task_id)
                            .order_by(TaskView.user_id, TaskView.opened_at, TaskView.id)).all()
    total = 0.0
    for i, view in enumerate(views):
        following = views[i + 1] if i + 1 < len(views) else None
        end = (_aware(following.opened_at)
               if following is not None and following.user_id == view.user_id else now)
        total += view.active_seconds + _gap(view.last_seen_at, min(end, now), cap)
    return round(total, 3)
