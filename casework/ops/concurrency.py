"""Connector sessions limited across every worker: Prefect global concurrency limits.

A legacy system may allow only two sessions at a time, however many workers run. The limit is
a Prefect global concurrency limit named after the connector (``prefect gcl create legacy-web
--limit 2``); robots hold a slot while they talk to the system::

    with connector_slot("legacy-web"):
        ... log in, read, write, log out ...

Where no limit of that name exists the block runs unlimited and the process logs one note
saying so (Prefect 3.8 itself never creates a missing limit). Outside a Prefect flow or task
run (a plain script, a unit test) nothing is limited: only orchestrated runs share the limit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

_known: dict[str, bool] = {}  # limit name -> exists, checked once per process
_lock = threading.Lock()


def _in_prefect_run() -> bool:
    from prefect.context import FlowRunContext, TaskRunContext

    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def limit_exists(name: str) -> bool:
    """Whether Prefect has a global concurrency limit ``name`` (asked once per process)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with _lock:  # held across the call: threads of one run ask (and log) once
        if name in _known:
            return _known[name]
        with get_client(sync_client=True) as client:
            try:
                client.read_global_concurrency_limit_by_name(name)
                exists = True
            except ObjectNotFound:
                exists = False
        _known[name] = exists
    if not exists:
        log.warning("connector %r has no concurrency limit in Prefect; running unlimited "
                    "(create one with: prefect gcl create %s --limit N)", name, name)
    return exists


def forget_limits() -> None:
    """Ask Prefect again on the next use (tests; a long-lived process after a change)."""
    with _lock:
        _known.clear()


@contextmanager
def connector_slot(name: str, *, occupy: int = 1,
                   timeout_seconds: float | None = None) -> Iterator[None]:
    """Hold ``occupy`` of connector ``name``'s sessions while the block runs.

    Waits for a free slot (``timeout_seconds``: give up with ``TimeoutError``); the slot is
    leased, so a worker killed while holding it frees it when the lease runs out.
    """
    if not _in_prefect_run() or not limit_exists(name):
        yield
        return
    from prefect.concurrency.sync import concurrency

    with concurrency(name, occupy=occupy, timeout_seconds=timeout_seconds, strict=True):
        yield
