"""Fixtures for connector tests: the stand-ins served on loopback, and clients with tiny waits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from connectors.case_system import CaseSystemClient
from connectors.http import RetryPolicy
from connectors.registry import RegistryClient
from standins import case_system, registry
from standins.server import LoopbackServer, serving

TOKEN = "test-token"
FAST = RetryPolicy(attempts=4, initial_wait=0.01, max_wait=0.05, jitter=0.01,
                   retry_after_cap=0.2)


@pytest.fixture
def case_server() -> Iterator[LoopbackServer]:
    with serving(case_system.create_app(None, TOKEN)) as server:
        yield server


@pytest.fixture
def cases(case_server: LoopbackServer) -> Iterator[CaseSystemClient]:
    with CaseSystemClient(case_server.url, TOKEN, timeout=2.0, retry=FAST) as client:
        yield client


@pytest.fixture
def registry_server() -> Iterator[LoopbackServer]:
    with serving(registry.create_app(TOKEN)) as server:
        yield server


@pytest.fixture
def registry_client(registry_server: LoopbackServer) -> Iterator[RegistryClient]:
    with RegistryClient(registry_server.url, TOKEN, timeout=2.0, retry=FAST) as client:
        yield client


def _admin(server: LoopbackServer, method: str, path: str, **kwargs: Any) -> httpx.Response:
    response = httpx.request(method, server.url + path,
                             headers={"Authorization": f"Bearer {TOKEN}"}, **kwargs)
    response.raise_for_status()
    return response


@pytest.fixture
def inject() -> Callable[[LoopbackServer, list[dict[str, Any]]], None]:
    """``inject(server, [{"path": "/cases/*", "status": 503, "times": 2}])``."""
    return lambda server, faults: _admin(server, "POST", "/_faults", json=faults) and None


@pytest.fixture
def pending_faults() -> Callable[[LoopbackServer], list[dict[str, Any]]]:
    return lambda server: _admin(server, "GET", "/_faults").json()


@pytest.fixture
def stats() -> Callable[[LoopbackServer], dict[str, int]]:
    return lambda server: _admin(server, "GET", "/admin/stats").json()
