"""Failure screenshots of the legacy web robot: saved privately, shown in the Prefect UI.

Before the picture is taken, every element that shows a citizen's name, CPR number or free
text about them (``selectors.PERSONAL_DATA``) is covered by a solid box, so the image shows the
page's state and error, not the person. The file goes to ``<data dir>/screenshots/legacy_web/``
(directory 0700, file 0600). Inside a Prefect flow or task run the same masked image is also
stored as an image artifact (a ``data:`` URL, so the Prefect UI shows it without access to the
robot's disk); its description names the case only by its pseudonymised reference.
"""

from __future__ import annotations

import base64
import logging
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from casework.privacy import mask_cpr
from casework.settings import get_settings
from connectors.legacy_web.selectors import PERSONAL_DATA

if TYPE_CHECKING:
    from playwright.sync_api import Page

log = logging.getLogger(__name__)

ARTIFACT_KEY = "legacy-web-failure"
_CASE_NUMBER_IN_PATH = re.compile(r"/sag/[^/?#]+")
_QUERY = re.compile(r"\?.*$")


def screenshot_dir() -> Path:
    directory = get_settings().data_dir / "screenshots" / "legacy_web"
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(directory, 0o700)
    return directory


def _safe_page_path(url: str, case_ref: str | None) -> str:
    """The page's path with the case number replaced by its reference and no query string
    (a search URL carries the CPR number searched for)."""
    path = _QUERY.sub("", re.sub(r"^[a-z]+://[^/]+", "", url))
    return _CASE_NUMBER_IN_PATH.sub(f"/sag/{case_ref or '…'}", path)


def _in_prefect_run() -> bool:
    try:
        from prefect.context import FlowRunContext, TaskRunContext
    except ImportError:
        return False
    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def save_failure_screenshot(page: Page, *, operation: str, case_ref: str | None,
                            error: BaseException) -> Path | None:
    """Best effort: a failing screenshot must never hide the error that caused it."""
    try:
        png = page.screenshot(full_page=True, timeout=5_000, animations="disabled",
                              mask=[page.locator(s) for s in PERSONAL_DATA], mask_color="#222")
    except Exception:  # noqa: BLE001 - the page may be gone; the original error matters more
        log.warning("legacy web robot: no screenshot after %s failed", operation, exc_info=True)
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = screenshot_dir() / f"{stamp}-{operation}-{case_ref or 'no-case'}.png"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(png)
    page_path = _safe_page_path(page.url, case_ref)
    if _in_prefect_run():
        _publish_artifact(png, path, operation=operation, case_ref=case_ref,
                          page_path=page_path, error=error)
    else:
        log.warning("legacy web robot: %s failed on %s; screenshot saved to %s",
                    operation, page_path, path)
    return path


def _publish_artifact(png: bytes, path: Path, *, operation: str, case_ref: str | None,
                      page_path: str, error: BaseException) -> None:
    try:
        from prefect.artifacts import create_image_artifact

        description = mask_cpr(
            f"**Legacy case system: `{operation}` failed**"
            f"{f' for case `{case_ref}`' if case_ref else ''} on page `{page_path}`.\n\n"
            f"{type(error).__name__}: {error}\n\n"
            "Names, CPR numbers and notes are covered in the screenshot. "
            f"File on the robot's machine: `{path}`"
        )
        create_image_artifact(
            image_url="data:image/png;base64," + base64.b64encode(png).decode("ascii"),
            key=ARTIFACT_KEY,
            description=description,
        )
    except Exception:  # noqa: BLE001 - reported, never raised
        log.warning("legacy web robot: could not store the screenshot artifact (file: %s)", path,
                    exc_info=True)
