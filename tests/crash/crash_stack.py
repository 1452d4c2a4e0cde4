"""The production stack as separate processes on loopback, for the crash suite: Prefect server,
process workers, the sign-off inbox, the decision deliverer and the case-system stand-in,
over PostgreSQL (CASEWORK_TEST_POSTGRES_URL) or SQLite files."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[2]
CRASH_DIR = Path(__file__).resolve().parent
PSEUDONYM_KEY = "crash-suite-pseudonym-key-0123456789"


#: Figures each crash test reports, printed in the test summary.
FIGURES: dict[str, dict[str, object]] = {}
_STARTED = time.monotonic()


def lap(what: str) -> None:
    """Where the suite's time goes, in the -s output and the log."""
    print(f"[{time.monotonic() - _STARTED:6.1f} s] {what}", flush=True)


def cli(stack: Stack, *args: str, **env: str) -> str:
    result = subprocess.run([sys.executable, *args], env=stack.env(**env), cwd=REPO,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(what: str, ready: Callable[[], object], timeout: float = 90.0,
               every: float = 0.2) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = ready()
        except Exception:  # noqa: BLE001 - not ready yet
            value = None
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc), deepest last."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class Proc:
    """One service process in its own process group, its output in a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path) -> None:
        self.name, self.args, self.env = name, args, env
        self.log = logs / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        handle = self.log.open("ab")
        self.popen = subprocess.Popen(self.args, env=self.env, cwd=REPO, stdout=handle,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        handle.close()
        return self

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the process and everything it started (a flow run's child process too)."""
        if self.popen is None:
            return
        victims = [self.popen.pid, *descendants(self.popen.pid)]
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self, sig: int = signal.SIGINT, timeout: float = 15.0) -> None:
        if not self.alive:
            return
        assert self.popen is not None
        try:
            os.killpg(self.popen.pid, sig)
            self.popen.wait(timeout=timeout)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            self.kill()

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Stack:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.logs = root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        pg = os.environ.get("CASEWORK_TEST_POSTGRES_URL")
        self.backend = "postgresql" if pg else "sqlite"
        self._pg_admin = pg
        self._pg_databases: list[str] = []
        if pg:
            self.database_url = self._pg_database(pg, "casework", "postgresql+psycopg")
            self.prefect_db_url = self._pg_database(pg, "prefect", "postgresql+asyncpg")
        else:
            self.database_url = f"sqlite:///{root / 'casework.db'}"
            self.prefect_db_url = f"sqlite+aiosqlite:///{root / 'prefect.db'}"
        self.prefect_port, self.inbox_port, self.cases_port = free_port(), free_port(), \
            free_port()
        self.api_url = f"http://127.0.0.1:{self.prefect_port}/api"
        self.inbox_url = f"http://127.0.0.1:{self.inbox_port}"
        self.cases_url = f"http://127.0.0.1:{self.cases_port}"
        self.workers: list[Proc] = []
        python = sys.executable
        self.server = Proc("prefect-server", [python, "-m", "prefect", "server", "start",
                                              "--host", "127.0.0.1", "--port",
                                              str(self.prefect_port)], self.env(), self.logs)
        self.inbox = Proc("inbox", [python, "-m", "casework.cli", "inbox", "serve", "--port",
                                    str(self.inbox_port)], self.env(), self.logs)
        self.deliverer = Proc("deliverer", [python, "-m", "casework.cli", "signoff", "deliver",
                                            "--watch", "--interval", "0.5"], self.env(),
                              self.logs)
        serve_cases = ("import sys, uvicorn; from standins.case_system import create_app; "
                       "uvicorn.run(create_app(sys.argv[1], token='crash-token'), "
                       "host='127.0.0.1', port=int(sys.argv[2]), log_level='warning')")
        self.case_system = Proc("case-system", [python, "-c", serve_cases,
                                                str(root / "case-system.db"),
                                                str(self.cases_port)], self.env(), self.logs)

    def _pg_database(self, admin_url: str, purpose: str, driver: str) -> str:
        name = f"crash_{purpose}_{uuid4().hex[:8]}"
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self._pg_databases.append(name)
        url = make_url(admin_url).set(drivername=driver, database=name)
        return url.render_as_string(hide_password=False)

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PREFECT_", "CASEWORK_"))}
        env.update({
            "PYTHONPATH": os.pathsep.join([str(REPO), str(CRASH_DIR)]),
            "PREFECT_HOME": str(self.root / "prefect-home"),
            "PREFECT_API_URL": self.api_url,
            "PREFECT_API_DATABASE_CONNECTION_URL": self.prefect_db_url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_UI_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "PREFECT_RUNNER_POLL_FREQUENCY": "1",
            "PREFECT_SERVER_API_KEEPALIVE_TIMEOUT": "5",
            "CASEWORK_DATABASE_URL": self.database_url,
            "CASEWORK_DATA_DIR": str(self.root / "data"),
            "CASEWORK_PSEUDONYM_KEY": PSEUDONYM_KEY,
            "CASEWORK_POLICY_DIR": str(CRASH_DIR / "policies"),
            "CASEWORK_INBOX_DEV_LOGIN": "true",
            "CASEWORK_INBOX_COOKIE_SECURE": "false",
            "CASEWORK_INBOX_SECRET_KEY": "crash-suite-session-key",
            "CRASH_CASE_SYSTEM_URL": self.cases_url,
        })
        env.update(extra)
        return env

    # -- services -----------------------------------------------------------------------------
    def start_server(self) -> None:
        self.server.start()
        wait_until("the Prefect server", lambda: httpx.get(f"{self.api_url}/health",
                                                           timeout=2).status_code == 200,
                   timeout=120, every=0.5)

    def start_inbox(self) -> None:
        self.inbox.start()
        wait_until("the inbox", lambda: httpx.get(f"{self.inbox_url}/login",
                                                  timeout=2).status_code == 200)

    def start_case_system(self) -> None:
        self.case_system.start()
        wait_until("the case system", lambda: httpx.get(
            f"{self.cases_url}/admin/stats", timeout=2,
            headers={"Authorization": "Bearer crash-token"}).status_code == 200)

    def start_worker(self, **extra: str) -> Proc:
        n = len(self.workers) + 1
        worker = Proc(f"worker-{n}", [sys.executable, "-m", "prefect", "worker", "start",
                                      "--pool", "casework", "--type", "process",
                                      "--name", f"crash-worker-{n}"],
                      self.env(**extra), self.logs).start()
        self.workers.append(worker)
        return worker

    def case_stats(self) -> dict[str, int]:
        return httpx.get(f"{self.cases_url}/admin/stats", timeout=5,
                         headers={"Authorization": "Bearer crash-token"}).json()

    def stop_all(self) -> None:
        for proc in [*self.workers, self.deliverer, self.inbox, self.case_system, self.server]:
            proc.stop()
        if self._pg_admin:
            admin = create_engine(self._pg_admin, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                for name in self._pg_databases:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
