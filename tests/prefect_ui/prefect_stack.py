"""A real Prefect server (API and UI) in a subprocess with its own PREFECT_HOME and database, and
the four robots run against it in another process, as a worker would run them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
PSEUDONYM_KEY = "prefect-ui-pseudonym-key-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrefectServer:
    def __init__(self, root: Path, *, ui: bool = False) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_url = f"{self.url}/api"
        self.home = root / "server-home"
        self.worker_home = root / "worker-home"
        self.ui = ui
        self.proc: subprocess.Popen[bytes] | None = None

    def base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PREFECT_", "CASEWORK_"))}
        env.update({"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
                    "PYTHONPATH": str(REPO)})
        return env

    def start(self) -> PrefectServer:
        env = {**self.base_env(), "PREFECT_HOME": str(self.home),
               "PREFECT_API_DATABASE_CONNECTION_URL":
                   f"sqlite+aiosqlite:///{self.root / 'prefect.db'}",
               "PREFECT_SERVER_UI_ENABLED": "true" if self.ui else "false",
               "PREFECT_UI_API_URL": self.api_url,
               "PREFECT_LOGGING_LEVEL": "WARNING"}
        log = (self.root / "server.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
             "--port", str(self.port)], env=env, cwd=self.root, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (self.root / "server.log").read_text()[-3000:]
            try:
                if httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise AssertionError("the Prefect server did not become healthy")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, 2)  # SIGINT
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            self.proc.wait(timeout=10)

    def worker_env(self) -> dict[str, str]:
        return {**self.base_env(), "PREFECT_API_URL": self.api_url,
                "PREFECT_HOME": str(self.worker_home),
                "CASEWORK_DATA_DIR": str(self.root / "data"),
                "CASEWORK_PSEUDONYM_KEY": PSEUDONYM_KEY,
                "CASEWORK_POLICY_DIR": str(REPO / "policies"),
                "CASEWORK_INBOX_URL": "https://inbox.kommune.example"}

    def run_robots(self) -> dict[str, object]:
        """The four robots in a separate process; returns its summary (item counts)."""
        done = subprocess.run(
            [sys.executable, str(REPO / "tests" / "prefect_ui" / "robots_run.py"),
             str(self.root)], env=self.worker_env(), cwd=REPO, capture_output=True, text=True,
            timeout=300)
        (self.root / "robots.log").write_text(done.stdout + done.stderr)
        assert done.returncode == 0, done.stderr[-4000:]
        return json.loads(done.stdout.strip().splitlines()[-1])
