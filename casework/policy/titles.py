"""Names of flows and steps for people, from the policy files' ``title: {da, nb, en}``.

The inbox, reports and letters show these instead of identifiers, for any robot — not only the
four bundled ones. Read from the policy versions runs have used (the database keeps their text),
newest first, and cached for a minute.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import select

from casework.db.models import PolicyVersion
from casework.db.session import reading
from casework.policy.errors import PolicyError
from casework.policy.loader import parse_policy
from casework.policy.model import Titles

CACHE_SECONDS = 60.0
_lock = threading.Lock()
_cache: dict[str, tuple[float, Titles | None, dict[str, Titles]]] = {}


def titles_of(flow: str) -> tuple[Titles | None, dict[str, Titles]]:
    """(the flow's title, {step: title}) from its newest policy version; nothing when none."""
    now = time.monotonic()
    with _lock:
        found = _cache.get(flow)
        if found and now - found[0] < CACHE_SECONDS:
            return found[1], found[2]
    flow_title, steps = _read(flow)
    with _lock:
        _cache[flow] = (now, flow_title, steps)
    return flow_title, steps


def forget() -> None:
    with _lock:
        _cache.clear()


def _read(flow: str) -> tuple[Titles | None, dict[str, Titles]]:
    try:
        with reading() as session:
            version = session.scalars(
                select(PolicyVersion).where(PolicyVersion.flow == flow)
                .order_by(PolicyVersion.first_seen_at.desc()).limit(1)).first()
            text, path = (version.content, version.path) if version else (None, None)
    except Exception:  # noqa: BLE001 - a name is a courtesy; the page still works without it
        return None, {}
    if text is None:
        return None, {}
    try:
        policy = parse_policy(text.encode("utf-8"), Path(path or f"{flow}.yaml"))
    except PolicyError:
        return None, {}
    model = policy.model
    return model.title, {name: step.title for name, step in model.steps.items() if step.title}
