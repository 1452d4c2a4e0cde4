"""Where a Chromium for the legacy-web robots is found, in the order the robots use it.

One place for the lookup: ``connectors/browser.py`` starts the browser it names, and
``casework doctor`` reports it (the core cannot import ``connectors/``).
"""

from __future__ import annotations

import os
from pathlib import Path

BROWSER_PATH_ENV = "CASEWORK_BROWSER_PATH"

# The real binary first: /usr/bin/chromium is a shell wrapper that starts slower and warns.
DEBIAN_CHROMIUM = (Path("/usr/lib/chromium/chromium"), Path("/usr/bin/chromium"))


class BrowserPathError(ValueError):
    """``CASEWORK_BROWSER_PATH`` names something that is not an executable file."""


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def configured_or_system_browser() -> tuple[Path, str] | None:
    """(binary, where it came from) for ``CASEWORK_BROWSER_PATH`` or Debian's chromium; None
    when neither is there (Playwright's own download may still be). A configured path that is
    not executable raises: a setting silently ignored would hide a broken installation."""
    configured = os.environ.get(BROWSER_PATH_ENV, "").strip()
    if configured:
        path = Path(configured).expanduser()
        if not _executable(path):
            raise BrowserPathError(f"{BROWSER_PATH_ENV}={configured} is not an executable file")
        return path, BROWSER_PATH_ENV
    for candidate in DEBIAN_CHROMIUM:
        if _executable(candidate):
            return candidate, "Debian chromium"
    return None
