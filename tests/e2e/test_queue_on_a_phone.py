"""The queue on a 390-px phone in Chromium: every task is readable as a card, nothing scrolls
sideways, and a task opens from it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from casework.inbox.app import create_app
from casework.inbox.seed import seed_demo_users
from casework.inbox.settings import InboxSettings
from standins.server import serving

sys.path.insert(0, str(Path(__file__).parents[1] / "inbox"))
from inbox_helpers import make_task  # noqa: E402

playwright_api = pytest.importorskip("playwright.sync_api")

from connectors.browser import BrowserNotFoundError, launch_browser  # noqa: E402


@pytest.fixture
def inbox_url(db_engine: Engine) -> Iterator[str]:
    seed_demo_users(db_engine)
    for n in range(3):
        make_task(db_engine, summary=f"Ansøgning om carport og et meget langt emne nummer {n} "
                                      "der ikke må presse siden ud til siden på en telefon")
    settings = InboxSettings(dev_login=True, cookie_secure=False,
                             secret_key=SecretStr("phone-secret"))
    with serving(create_app(settings, engine=db_engine)) as server:
        yield server.url


def test_the_queue_fits_a_390_px_phone(inbox_url: str) -> None:
    with playwright_api.sync_playwright() as pw:
        try:
            browser = launch_browser(pw)
        except BrowserNotFoundError as exc:
            pytest.skip(str(exc))
        context = browser.new_context(locale="da-DK", base_url=inbox_url,
                                      viewport={"width": 390, "height": 844},
                                      device_scale_factor=2, is_mobile=True, has_touch=True)
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("Anna Byggesag (anna.byg)").check()
        page.get_by_role("button", name="Log ind").click()
        page.goto("/queue")
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1] == 390, widths  # no sideways scrolling
        cell = page.locator("table.queue td").first
        assert cell.evaluate("e => getComputedStyle(e).display") == "block"  # rows as cards
        page.locator("table.queue a").first.click()
        assert "/tasks/" in page.url
        context.close()
        browser.close()
