"""Count badges may be reused for a few seconds per scope, but a decision shows at once."""

from __future__ import annotations

import re

from inbox_helpers import decide, login, settings

from casework.inbox.app import create_app
from casework.inbox.queue import invalidate_counts

ALL = re.compile(r'due=all[^"]*">[^<]*<span class="badge">(\d+)</span>')


def badge(page: str) -> int:
    match = ALL.search(page)
    assert match, "no 'all' badge"
    return int(match.group(1))


def test_badges_are_reused_within_the_ttl_and_refreshed_by_a_decision(engine, task_factory):
    invalidate_counts()
    app = create_app(settings().model_copy(update={"queue_counts_seconds": 300}), engine=engine)
    anna = login(app, "anna.byg")
    first = task_factory()
    assert badge(anna.get("/queue").text) == 1

    task_factory()  # created elsewhere (a flow): shown once the TTL has passed
    assert badge(anna.get("/queue").text) == 1

    assert decide(anna, first, "approved").status_code == 303
    assert badge(anna.get("/queue").text) == 1  # recounted: one decided, one new


def test_without_a_ttl_every_page_counts(engine, task_factory, as_user):
    anna = as_user("anna.byg")  # the test settings count on every page
    task_factory()
    before = badge(anna.get("/queue").text)
    task_factory()
    assert badge(anna.get("/queue").text) == before + 1
