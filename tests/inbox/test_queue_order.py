"""Deadline order across pages: dated tasks first by deadline, then undated by creation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from inbox_helpers import make_task

from casework.db.session import reading
from casework.inbox import queue
from casework.inbox.identity import load_user


def test_pages_run_from_dated_into_undated_tasks_without_gaps(engine):
    now = datetime.now(UTC)
    dated = [make_task(engine, deadline_hours=h, now=now - timedelta(minutes=h))
             for h in (50, -3, 20, 7, 90, 1, 30)]  # negative: already overdue
    undated = [make_task(engine, deadline_hours=None, now=now - timedelta(minutes=m))
               for m in (5, 40, 1, 12, 3, 25)]
    make_task(engine, department="skole", deadline_hours=2)  # not lise's department
    # deadline = created + hours = now - hours minutes + hours hours: ascending in hours
    by_deadline = [i for _, i in sorted(zip((50, -3, 20, 7, 90, 1, 30), dated, strict=True))]
    by_created = [i for _, i in sorted(zip((5, 40, 1, 12, 3, 25), undated, strict=True),
                                       reverse=True)]
    with reading(engine) as s:
        lise = load_user(s, "lise.leder")
        assert lise is not None
        seen = []
        for page in (1, 2, 3):
            result = queue.load_queue(s, lise, queue.QueueFilter(page=page), page_size=5)
            assert result.total == 13 and result.pages == 3
            seen += [t.id for t in result.tasks]
        overdue = queue.load_queue(s, lise, queue.QueueFilter(due="overdue"), page_size=5)
    assert seen == by_deadline + by_created
    assert [t.id for t in overdue.tasks] == [dated[1]]
