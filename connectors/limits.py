"""How many requests one process sends to one outside system at once.

Work items run several at a time; an old case system may take only a few parallel requests.
``CASEWORK_CONNECTOR_CONCURRENCY='{"case-system": 2, "registry": 4}'`` caps the requests in
flight per system and process (systems are named as in connector errors, lower case, spaces as
dashes). Across workers and machines, Prefect's global concurrency limits do the same for
sessions (``casework.ops.concurrency.connector_slot``).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_slots: dict[str, threading.BoundedSemaphore | None] = {}
_config: tuple[str, dict[str, int]] | None = None


def system_slug(system: str) -> str:
    return "-".join(system.lower().split())


def _limits() -> dict[str, int]:
    global _config
    raw = os.environ.get("CASEWORK_CONNECTOR_CONCURRENCY", "")
    if _config is None or _config[0] != raw:
        try:
            parsed = json.loads(raw) if raw.strip() else {}
            limits = {system_slug(str(k)): int(v) for k, v in parsed.items()}
        except (ValueError, TypeError, AttributeError):
            raise ValueError("CASEWORK_CONNECTOR_CONCURRENCY: expected JSON like "
                             '{"case-system": 2}') from None
        if any(n < 1 for n in limits.values()):
            raise ValueError("CASEWORK_CONNECTOR_CONCURRENCY: limits must be 1 or more")
        _config = (raw, limits)
        _slots.clear()
    return _config[1]


@contextmanager
def request_slot(system: str) -> Iterator[None]:
    """Hold one of ``system``'s request slots while a request is in flight (no limit set:
    nothing is held)."""
    slug = system_slug(system)
    with _lock:
        limits = _limits()
        if slug not in _slots:
            _slots[slug] = threading.BoundedSemaphore(limits[slug]) if slug in limits else None
        slot = _slots[slug]
    if slot is None:
        yield
        return
    with slot:
        yield
