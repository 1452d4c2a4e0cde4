"""Requests in flight per outside system: work items run in parallel, but an old system gets
no more parallel requests than its limit (a real loopback server counts them)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi import FastAPI

from connectors.http import HttpConnector
from standins.server import serving


class SlowSystem(HttpConnector):
    system = "case system"


def counting_app() -> tuple[FastAPI, dict[str, int]]:
    app = FastAPI()
    seen = {"now": 0, "most": 0}
    lock = threading.Lock()

    @app.get("/slow")
    def slow() -> dict[str, int]:
        with lock:
            seen["now"] += 1
            seen["most"] = max(seen["most"], seen["now"])
        time.sleep(0.15)
        with lock:
            seen["now"] -= 1
        return {"ok": 1}

    return app, seen


@pytest.mark.parametrize(("limit", "most"), [(None, 3), ("2", 2)])
def test_requests_in_flight_stay_within_the_systems_limit(
        monkeypatch: pytest.MonkeyPatch, limit: str | None, most: int) -> None:
    if limit:
        monkeypatch.setenv("CASEWORK_CONNECTOR_CONCURRENCY", f'{{"case-system": {limit}}}')
    else:
        monkeypatch.delenv("CASEWORK_CONNECTOR_CONCURRENCY", raising=False)
    app, seen = counting_app()
    with serving(app) as server, SlowSystem(server.url) as client, \
            ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: client.request("GET", "/slow"), range(16)))
    if limit:
        assert seen["most"] == most
    else:
        assert seen["most"] >= most  # unlimited: the threads really overlap


def test_a_malformed_limit_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from connectors.limits import request_slot

    monkeypatch.setenv("CASEWORK_CONNECTOR_CONCURRENCY", "case-system=2")
    with pytest.raises(ValueError, match="CASEWORK_CONNECTOR_CONCURRENCY"), \
            request_slot("case system"):
        pass
