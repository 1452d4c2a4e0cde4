"""Start a headless Chromium for robots and browser tests, on closed municipal networks too.

Order of choice: ``CASEWORK_BROWSER_PATH`` if set, then Debian's ``chromium`` package, then the
browser Playwright downloaded itself (``playwright install chromium``). Flags turn off
everything that phones home, so a machine without internet starts the browser quickly.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from casework.ops.browser_location import (
    BROWSER_PATH_ENV,
    BrowserPathError,
    configured_or_system_browser,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

QUIET_FLAGS = (
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)

INSTALL_HINT = (
    "Install one: `apt-get install chromium` (Debian/Ubuntu), or `playwright install chromium` "
    f"where the internet is reachable, or point {BROWSER_PATH_ENV} at a Chromium binary."
)


class BrowserNotFoundError(RuntimeError):
    """No Chromium to start; the message says how to install one."""


def browser_flags() -> list[str]:
    """``--no-sandbox`` only as root, where Chromium refuses to start with its sandbox."""
    flags = list(QUIET_FLAGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        flags.insert(0, "--no-sandbox")
    return flags


def find_browser_executable() -> Path | None:
    """The Chromium binary to start, or None to let Playwright use its own download.

    Raises when ``CASEWORK_BROWSER_PATH`` names a file that does not exist: a setting that is
    silently ignored would hide a broken installation.
    """
    try:
        found = configured_or_system_browser()
    except BrowserPathError as exc:
        raise BrowserNotFoundError(f"{exc}. {INSTALL_HINT}") from None
    return found[0] if found else None


def _playwright_download(playwright: Playwright) -> Path | None:
    try:
        path = Path(playwright.chromium.executable_path)
    except Exception:  # noqa: BLE001 - Playwright raises when its browser registry is absent
        return None
    return path if path.is_file() else None


def browser_unavailable_reason() -> str | None:
    """None when a browser can be started, else why not (tests skip with this reason)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "the Python package 'playwright' is not installed (pip install '.[browser]')"
    try:
        if find_browser_executable() is not None:
            return None
    except BrowserNotFoundError as exc:
        return str(exc)
    with sync_playwright() as playwright:
        if _playwright_download(playwright) is not None:
            return None
    return f"no Chromium found. {INSTALL_HINT}"


def launch_browser(playwright: Playwright, *, headless: bool = True) -> Browser:
    """A Chromium ``Browser`` from a running sync Playwright (``with sync_playwright() as p``)."""
    executable = find_browser_executable()
    if executable is None and _playwright_download(playwright) is None:
        raise BrowserNotFoundError(f"No Chromium found. {INSTALL_HINT}")
    return playwright.chromium.launch(
        executable_path=str(executable) if executable else None,
        headless=headless,
        args=browser_flags(),
    )
