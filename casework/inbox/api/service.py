"""The task operations the JSON API and ``casework tasks`` share, over the web form's code:
the same scope (``identity``), value checks (``values``), four-eyes and audit (``decisions``)."""

from __future__ import annotations

import json
import math
from typing import Any

from sqlalchemy import Engine

from casework.db.session import reading
from casework.inbox import decisions, queue, values
from casework.inbox.api.schemas import (
    DecideRequest,
    DecideResponse,
    TaskDetail,
    TaskPage,
    detail_of,
    summary_of,
)
from casework.inbox.identity import User, get_visible_task, load_user

MAX_BODY = values.MAX_VALUE_JSON + values.MAX_TEXT + 1_000  # value + reason + the rest


def list_tasks(engine: Engine, user: User, *, department: str | None = None,
               flow: str | None = None, due: str = "all", sort: str = "deadline",
               page: int = 1, page_size: int = 50) -> TaskPage:
    """The user's open tasks, as the queue page filters and orders them."""
    flt = queue.QueueFilter(
        department=department or None, flow=flow or None,
        due=due if due in ("all", "overdue", "today", "week") else "all",  # type: ignore[arg-type]
        sort="created" if sort == "created" else "deadline", page=max(1, page))
    with reading(engine) as s:
        result = queue.load_queue(s, user, flt, page_size=page_size, counts_ttl=0)
        return TaskPage(tasks=[summary_of(t) for t in result.tasks], total=result.total,
                        page=result.page, pages=result.pages)


def show_task(engine: Engine, user: User, task_id: str) -> TaskDetail:
    with reading(engine) as s:
        task = get_visible_task(s, user, task_id)
        if task is None:
            raise decisions.NotFound(task_id)
        return detail_of(task)


def parse_body(raw: bytes) -> Any:
    """Strict JSON (no NaN/Infinity, finite numbers), as the web form's amended value."""
    if len(raw) > MAX_BODY:
        raise decisions.Refused("text_too_long", max=MAX_BODY)
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_no_constant, parse_float=_finite)
    except (ValueError, RecursionError, UnicodeDecodeError):
        raise decisions.Refused("invalid_json") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("number out of range")
    return number


def decide(engine: Engine, user: User, task_id: str, request: DecideRequest, *,
           idle_cap_seconds: float = 120.0) -> DecideResponse:
    """Decide as the web form does; refusals are ``decisions.Refused`` with the same keys."""
    value = request.value
    if value is not None and len(json.dumps(value)) > values.MAX_VALUE_JSON:
        raise decisions.Refused("text_too_long", max=values.MAX_VALUE_JSON)
    if request.decision not in ("amended", decisions.ANSWER):
        value = None  # the form sends no value with approve or reject either
    result = decisions.decide(engine, user, task_id, decision=request.decision,
                              version=request.version, reason=request.reason, value=value,
                              idle_cap_seconds=idle_cap_seconds)
    return DecideResponse(task_id=result.task_id, decision=result.decision,
                          human_seconds=result.human_seconds)


def claim(engine: Engine, user: User, task_id: str) -> TaskDetail:
    decisions.claim(engine, user, task_id)
    return show_task(engine, user, task_id)


def release(engine: Engine, user: User, task_id: str, reassign_to: str | None) -> TaskDetail:
    target = None
    if reassign_to:
        with reading(engine) as s:
            target = load_user(s, reassign_to)
        if target is None:
            raise decisions.Refused("bad_request")
    decisions.release(engine, user, task_id, reassign_to=target)
    return show_task(engine, user, task_id)


def refusal_status(key: str) -> int:
    """The HTTP status the web form answers a refusal with."""
    if key in ("already_decided", "claimed_by_other", "stale"):
        return 409
    if key in ("four_eyes_refused", "review_participant_refused", "forbidden"):
        return 403
    return 400
