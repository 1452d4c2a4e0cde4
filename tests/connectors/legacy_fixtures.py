"""Fixtures for the legacy web robot: one real headless Chromium per module, a fresh stand-in
of the legacy case system on loopback per test, and a robot logged in to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.browser import browser_unavailable_reason, launch_browser
from standins.legacy_web import create_app
from standins.server import LoopbackServer, serving

USER, PASSWORD = "sagsrobot", "Hemmelig-123"


class LegacyStandIn:
    """The running stand-in and the test's handles on it (faults, sessions, stored state)."""

    def __init__(self, server: LoopbackServer) -> None:
        self.server = server
        self.url = server.url

    def fault(self, **fault: Any) -> None:
        httpx.post(f"{self.url}/_faults", json=fault).raise_for_status()

    def pending_faults(self) -> list[dict[str, Any]]:
        return httpx.get(f"{self.url}/_faults").json()

    def expire_sessions(self) -> int:
        return httpx.post(f"{self.url}/_sessions/expire").json()["expired"]

    def case(self, case_number: str) -> dict[str, Any]:
        return httpx.get(f"{self.url}/_state/cases/{case_number}").json()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = browser_unavailable_reason()
    if reason is not None:
        pytest.skip(f"no browser for the legacy web robot tests: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_browser(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def standin(tmp_path: Path) -> Iterator[LegacyStandIn]:
    app = create_app(str(tmp_path / "legacy.db"), users={USER: PASSWORD})
    with serving(app) as server:
        yield LegacyStandIn(server)


@pytest.fixture
def robot_factory(browser: Any, standin: LegacyStandIn, casework_env: Path) -> Iterator[Any]:
    """``robot_factory(password=..., timeout_seconds=...)`` → an entered robot, closed after."""
    from connectors.legacy_web import LegacyCaseSystemRobot

    robots: list[LegacyCaseSystemRobot] = []

    def make(**options: Any) -> LegacyCaseSystemRobot:
        settings = {"timeout_seconds": 2.0, "attempts": 4, "retry_wait_seconds": 0.05,
                    "browser": browser, **options}
        password = settings.pop("password", PASSWORD)
        robot = LegacyCaseSystemRobot(standin.url, USER, password, **settings)
        robots.append(robot.__enter__())
        return robot

    yield make
    for robot in robots:
        robot.__exit__(None, None, None)


@pytest.fixture
def robot(robot_factory: Any) -> Any:
    return robot_factory()
