"""Can Prefect be set up here? One clear line instead of a timeout traceback.

Without ``PREFECT_API_URL`` a flow run starts a temporary Prefect server under
``PREFECT_HOME``; a home folder that cannot be created or written makes that server fail after
a long wait with "Timed out while attempting to connect to ephemeral Prefect API server".
With ``PREFECT_API_URL`` the server must answer.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class PrefectSetupError(RuntimeError):
    """Prefect cannot run here; the message says why and what to do, in one line."""


def prefect_problem(timeout: float = 3.0) -> str | None:
    """Why Prefect cannot be set up in this environment, or None."""
    api = os.environ.get("PREFECT_API_URL", "").strip()
    if api:
        import httpx

        try:
            httpx.get(api.rstrip("/") + "/health", timeout=timeout)
        except httpx.HTTPError as exc:
            return (f"the Prefect server at PREFECT_API_URL={api} does not answer "
                    f"({type(exc).__name__}); start it (prefect server start) or unset "
                    "PREFECT_API_URL to use a temporary one")
        return None
    home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
    existing = home
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing != home and existing != home.parent:
        return (f"PREFECT_HOME={home}: the folder {home.parent} does not exist; create it "
                f"(mkdir -p {home}) or point PREFECT_HOME elsewhere")
    if existing.exists() and not existing.is_dir():
        return f"PREFECT_HOME={home}: {existing} is a file, not a folder"
    if not os.access(existing, os.W_OK):
        return f"PREFECT_HOME={home}: {existing} is not writable"
    return None


def ensure_prefect() -> None:
    problem = prefect_problem()
    if problem:
        raise PrefectSetupError(problem)


def quiet_temporary_server() -> None:
    """A temporary Prefect server sends usage telemetry unless told not to: a municipal machine
    should not phone home, and one without internet logs an ERROR for it on every run. Only a
    default; an explicit setting wins."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")


def run_flow(flow: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a flow from ``python -m ...``: a Prefect that cannot be set up ends the process with
    one line on stderr, not a traceback; the temporary server sends no telemetry."""
    quiet_temporary_server()
    try:
        ensure_prefect()
        return flow(*args, **kwargs)
    except PrefectSetupError as exc:
        sys.stderr.write(f"error: {exc}\n")
        raise SystemExit(1) from None
    except RuntimeError as exc:
        if "Prefect API server" not in str(exc):
            raise
        sys.stderr.write(f"error: Prefect's temporary server did not start ({exc}); check "
                         "PREFECT_HOME, or set PREFECT_API_URL to a running server\n")
        raise SystemExit(1) from None
