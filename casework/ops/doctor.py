"""``casework doctor``: is this machine set up to run the robots? One line per check.

Each check says ``ok``, ``warn`` (works, but not as production should) or ``FAIL`` (will not
work), what it found, and for anything short of ok what to do. Nothing is changed; the command
exits 1 when any check fails, so it can gate a deployment or a container's start.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import httpx
from pydantic import BaseModel, ValidationError

from casework.ops.browser_location import (
    BROWSER_PATH_ENV,
    BrowserPathError,
    configured_or_system_browser,
)
from casework.settings import Settings

Status = Literal["ok", "warn", "FAIL"]

WEAK_SECRETS = {"dev", "test", "secret", "changeme", "change-me", "demo", "password", "key"}


class Check(BaseModel):
    name: str
    status: Status
    detail: str
    hint: str | None = None

    def line(self) -> str:
        text = f"{self.status:<5} {self.name:<20} {self.detail}"
        return f"{text}\n      -> {self.hint}" if self.hint else text


def _check(name: str, fn: Callable[[], Check]) -> Check:
    """A check that raises is a FAIL line, never a traceback."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - reported as one line
        return Check(name=name, status="FAIL", detail=f"{type(exc).__name__}: {exc}"[:300])


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# -- the checks ------------------------------------------------------------------------------

def check_settings() -> tuple[Check, Settings | None]:
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        return Check(name="settings", status="FAIL",
                     detail=f"CASEWORK_{field.upper()}: {first['msg']}",
                     hint="fix the environment variable named"), None
    return Check(name="settings", status="ok",
                 detail=f"data dir {settings.data_dir}, policies {settings.policy_dir}, "
                        f"sign-off wait '{settings.signoff_wait}'"), settings


def check_database(settings: Settings) -> Check:
    from sqlalchemy.engine import make_url

    from casework.db import migrate
    from casework.db.session import make_engine

    url = settings.effective_database_url
    parsed = make_url(url)
    if (parsed.get_backend_name() == "sqlite" and parsed.database
            and parsed.database != ":memory:" and not Path(parsed.database).exists()):
        return Check(name="database", status="FAIL", detail=f"no database at {parsed.database}",
                     hint="run `casework db upgrade` (or set CASEWORK_DATABASE_URL)")
    engine = make_engine(url)
    try:
        current = migrate.current_revision(engine)
    except Exception as exc:  # noqa: BLE001
        return Check(name="database", status="FAIL",
                     detail=f"cannot connect to {_safe_url(url)}: {type(exc).__name__}",
                     hint="check CASEWORK_DATABASE_URL and that the server accepts connections")
    finally:
        engine.dispose()
    head = migrate.head_revision()
    if current != head:
        return Check(name="database", status="FAIL",
                     detail=f"{_safe_url(url)} at revision {current or 'none'}, newest {head}",
                     hint="run `casework db upgrade`")
    return Check(name="database", status="ok", detail=f"{_safe_url(url)} at revision {head}")


def check_policies(settings: Settings, flows_dir: Path) -> Check:
    from casework.policy.errors import PolicyError
    from casework.policy.loader import (
        check_against_flow,
        load_policy,
        policy_files,
        readiness_problems,
    )
    from casework.registry import FlowImportError, discover_flows

    directory = settings.policy_dir
    if not directory.is_dir():
        return Check(name="policies", status="FAIL", detail=f"no policy folder at {directory}",
                     hint="set CASEWORK_POLICY_DIR to the folder of policy files")
    registry = None
    if flows_dir.is_dir():
        try:
            registry = discover_flows(flows_dir)
        except FlowImportError as exc:
            return Check(name="policies", status="FAIL", detail=str(exc))
    paths = policy_files(directory)
    problems = []
    for path in paths:
        try:
            policy = load_policy(path)
        except PolicyError as exc:
            problems += exc.problems
            continue
        problems += readiness_problems(policy)
        if registry is not None:
            problems += check_against_flow(policy, registry.get(policy.flow, {}),
                                           policy.flow in registry)
    if not paths:
        return Check(name="policies", status="FAIL", detail=f"no policy files in {directory}")
    if problems:
        return Check(name="policies", status="FAIL",
                     detail=f"{len(problems)} problem(s); first: {problems[0]}",
                     hint="run `casework policy check` for every line")
    crossed = "checked against flows/" if registry is not None else "flow code not found"
    return Check(name="policies", status="ok", detail=f"{len(paths)} valid ({crossed})")


def _prefect_api_url() -> str | None:
    from prefect.settings import PREFECT_API_URL

    value = PREFECT_API_URL.value()
    return str(value).rstrip("/") if value else None


def check_prefect_api(api_url: str | None) -> Check:
    if api_url is None:
        return Check(name="prefect api", status="warn",
                     detail="embedded: no PREFECT_API_URL, each process starts its own local "
                            "server (one machine only; no schedules, no workers)",
                     hint="set PREFECT_API_URL to the Prefect server or Prefect Cloud")
    headers = {}
    if key := os.environ.get("PREFECT_API_KEY"):
        headers["Authorization"] = f"Bearer {key}"
    try:
        response = httpx.get(f"{api_url}/health", headers=headers, timeout=5.0)
    except httpx.HTTPError as exc:
        return Check(name="prefect api", status="FAIL",
                     detail=f"{api_url} unreachable: {type(exc).__name__}",
                     hint="start the server (`prefect server start`) or fix PREFECT_API_URL")
    if response.status_code != 200:
        return Check(name="prefect api", status="FAIL",
                     detail=f"{api_url}/health answered {response.status_code}",
                     hint="check PREFECT_API_URL and PREFECT_API_KEY")
    return Check(name="prefect api", status="ok", detail=f"{api_url} healthy")


def check_work_pool(pool: str) -> Check:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            work_pool = client.read_work_pool(pool)
        except ObjectNotFound:
            return Check(name="work pool", status="warn", detail=f"no work pool '{pool}'",
                         hint=f"prefect work-pool create {pool} --type process; then "
                              "`prefect --no-prompt deploy --all`")
        workers = client.read_workers_for_work_pool(pool)
    online = sum(1 for w in workers if str(w.status).upper().endswith("ONLINE"))
    status: Status = "ok" if online else "warn"
    return Check(name="work pool", status=status,
                 detail=f"'{pool}' ({work_pool.type}), {online} worker(s) online",
                 hint=None if online else f"start workers: prefect worker start --pool {pool}")


def check_concurrency_limits() -> Check:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        limits = client.read_global_concurrency_limits(limit=200)
    if not limits:
        return Check(name="connector limits", status="warn",
                     detail="no global concurrency limits: every connector runs unlimited",
                     hint="e.g. prefect gcl create legacy-web --limit 2")
    names = ", ".join(f"{gl.name}={gl.limit}{'' if gl.active else ' (inactive)'}"
                      for gl in sorted(limits, key=lambda gl: gl.name))
    return Check(name="connector limits", status="ok", detail=names)


def _playwright_chromium() -> Path | None:
    root = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or
                Path.home() / ".cache" / "ms-playwright")
    for pattern in ("chromium-*/chrome-linux*/chrome",
                    "chromium_headless_shell-*/*/headless_shell"):
        found = sorted(root.glob(pattern))
        if found:
            return found[-1]
    return None


def check_browser() -> Check:
    try:
        found = configured_or_system_browser()
    except BrowserPathError as exc:
        return Check(name="browser", status="FAIL", detail=str(exc),
                     hint="point it at a Chromium binary or unset it")
    if found is not None:
        path, source = found
        return Check(name="browser", status="ok",
                     detail=f"{path} ({BROWSER_PATH_ENV})" if source == BROWSER_PATH_ENV
                     else f"{path}")
    downloaded = _playwright_chromium()
    if downloaded is not None:
        return Check(name="browser", status="ok", detail=f"{downloaded} (Playwright's)")
    return Check(name="browser", status="warn",
                 detail="no Chromium: robots that drive a legacy web UI cannot start",
                 hint="apt-get install chromium, or playwright install chromium, or set "
                      f"{BROWSER_PATH_ENV}")


def check_inbox_login() -> Check:
    from casework.inbox.settings import InboxConfigError, InboxSettings

    try:
        inbox = InboxSettings()
        inbox.check_login()
    except (ValidationError, InboxConfigError) as exc:
        return Check(name="inbox login", status="FAIL", detail=str(exc).splitlines()[0][:300])
    if inbox.oidc_issuer:
        detail = f"OpenID Connect, issuer {inbox.oidc_issuer}"
        if "CASEWORK_INBOX_SECRET_KEY" not in os.environ:
            return Check(name="inbox login", status="warn",
                         detail=f"{detail}; no CASEWORK_INBOX_SECRET_KEY",
                         hint="set it (the same on every inbox server) or sessions end at "
                              "each restart")
        if not inbox.cookie_secure:
            return Check(name="inbox login", status="warn",
                         detail=f"{detail}; session cookie also sent over plain http",
                         hint="unset CASEWORK_INBOX_COOKIE_SECURE behind an HTTPS proxy")
        return Check(name="inbox login", status="ok", detail=detail)
    if inbox.dev_login:
        return Check(name="inbox login", status="warn",
                     detail="development login is ON (anyone may pick a user)",
                     hint="production: set CASEWORK_INBOX_OIDC_ISSUER and _CLIENT_ID, unset "
                          "CASEWORK_INBOX_DEV_LOGIN")
    return Check(name="inbox login", status="warn", detail="no login configured: nobody can "
                 "log in to the inbox", hint="set CASEWORK_INBOX_OIDC_ISSUER and "
                 "CASEWORK_INBOX_OIDC_CLIENT_ID (see casework/inbox/README.md)")


def check_pseudonym_key(settings: Settings) -> Check:
    key = settings.pseudonym_key.get_secret_value() if settings.pseudonym_key else None
    if key is None:
        return Check(name="pseudonym key", status="warn",
                     detail=f"not set: a key is generated in {settings.data_dir}",
                     hint="set CASEWORK_PSEUDONYM_KEY (a long random secret, the same on every "
                          "machine) or case references differ between machines")
    if len(key) < 16 or key.lower() in WEAK_SECRETS:
        return Check(name="pseudonym key", status="warn",
                     detail="CASEWORK_PSEUDONYM_KEY looks like a development value",
                     hint="use a long random secret, e.g. `openssl rand -hex 32`")
    return Check(name="pseudonym key", status="ok", detail="set from the environment")


def check_signoff_wait(settings: Settings, api_url: str | None) -> Check | None:
    if api_url and settings.signoff_wait == "pause":
        return Check(name="sign-off wait", status="warn",
                     detail="'pause' holds a worker process per waiting run and does not "
                            "survive its crash",
                     hint="set CASEWORK_SIGNOFF_WAIT=suspend (or record) on workers")
    return None


def check_connectors() -> list[Check]:
    """One line per outside system configured (``connectors/doctor_checks.py``); looked up by
    name so the core does not import connectors, and absent when they are not installed."""
    import importlib

    try:
        module = importlib.import_module("connectors.doctor_checks")
    except ModuleNotFoundError:
        return []
    return [Check(**row) for row in module.connector_checks()]


def run_checks(*, pool: str = "casework", flows_dir: Path = Path("flows")) -> list[Check]:
    """Every check, in the order a person would fix them."""
    first, settings = check_settings()
    checks = [first]
    if settings is not None:
        checks.append(_check("database", lambda: check_database(settings)))
        checks.append(_check("policies", lambda: check_policies(settings, flows_dir)))
    api_url = _check_url()
    checks.append(_check("prefect api", lambda: check_prefect_api(api_url)))
    if api_url is not None and checks[-1].status == "ok":
        checks.append(_check("work pool", lambda: check_work_pool(pool)))
        checks.append(_check("connector limits", check_concurrency_limits))
    checks.append(_check("browser", check_browser))
    checks.append(_check("inbox login", check_inbox_login))
    try:
        checks += check_connectors()
    except Exception as exc:  # noqa: BLE001 - reported as one line
        checks.append(Check(name="connectors", status="FAIL",
                            detail=f"{type(exc).__name__}: {exc}"[:300]))
    if settings is not None:
        checks.append(_check("pseudonym key", lambda: check_pseudonym_key(settings)))
        wait = check_signoff_wait(settings, api_url)
        if wait is not None:
            checks.append(wait)
    return checks


def _check_url() -> str | None:
    try:
        return _prefect_api_url()
    except Exception:  # noqa: BLE001 - an invalid Prefect setting shows in the API line
        return None
