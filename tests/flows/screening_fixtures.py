"""Shared by the screening and journal-filing tests: the case-system stand-in on loopback,
configured for the flows through the environment, and the inbox's decision path."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from prefect.client.orchestration import get_client
from sqlalchemy import Engine, select

from casework.db.models import SignoffTask
from casework.db.session import reading
from casework.inbox import decisions
from casework.inbox.identity import load_user
from casework.inbox.seed import seed_demo_users
from casework.settings import reset_settings_cache
from casework.signoff.outbox import deliver_pending
from connectors.case_system import CaseSystemClient
from connectors.http import RetryPolicy
from standins import case_system
from standins.server import LoopbackServer, serving

TOKEN = "screening-test-token"
FAST = RetryPolicy(attempts=3, initial_wait=0.01, max_wait=0.05, jitter=0.01)


@pytest.fixture
def case_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:
    """The stand-in, seeded with the sample, and the flows told where it is."""
    with serving(case_system.create_app(None, TOKEN)) as server:
        monkeypatch.setenv("CASEWORK_CASE_SYSTEM_URL", server.url)
        monkeypatch.setenv("CASEWORK_CASE_SYSTEM_TOKEN", TOKEN)
        yield server


@pytest.fixture
def cases(case_server: LoopbackServer) -> Iterator[CaseSystemClient]:
    with CaseSystemClient(case_server.url, TOKEN, timeout=5.0, retry=FAST) as client:
        yield client


@pytest.fixture
def inbox_ready(db_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """Demo caseworkers seeded; flows wait in process for their decisions."""
    monkeypatch.setenv("CASEWORK_SIGNOFF_WAIT", "pause")
    reset_settings_cache()
    seed_demo_users(db_engine)
    return db_engine


def stats(server: LoopbackServer) -> dict[str, int]:
    response = httpx.get(server.url + "/admin/stats",
                         headers={"Authorization": f"Bearer {TOKEN}"})
    response.raise_for_status()
    return response.json()


def start_in_thread(run: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def target() -> None:
        try:
            out["result"] = run()
        except BaseException as exc:  # surfaced by the test
            out["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, out


def wait_for_paused_task(step: str, out: dict[str, Any], timeout: float = 90) -> SignoffTask:
    """The awaiting task of ``step``, once its flow run is paused in Prefect."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "error" in out:
            raise out["error"]
        with reading() as session:
            task = session.scalars(select(SignoffTask).where(
                SignoffTask.step == step, SignoffTask.status == "awaiting")).first()
        if task is not None:
            with get_client(sync_client=True) as client:
                state = client.read_flow_run(task.flow_run_id).state
            if state and state.is_paused():
                return task
        time.sleep(0.2)
    raise AssertionError(f"the flow never paused at {step}")


def decide_in_inbox(engine: Engine, user_id: str, task: SignoffTask, decision: str, *,
                    value: dict[str, Any] | None = None, reason: str | None = None) -> None:
    """The inbox's own decision code, then the outbox deliverer that resumes the flow."""
    with reading() as session:
        user = load_user(session, user_id)
    assert user is not None
    decisions.decide(engine, user, task.id, decision=decision, version=task.version,
                     reason=reason, value=value)
    assert deliver_pending().delivered == 1


def finished(thread: threading.Thread, out: dict[str, Any], timeout: float = 90) -> Any:
    thread.join(timeout=timeout)
    assert not thread.is_alive(), "the flow did not finish after the decision"
    if "error" in out:
        raise out["error"]
    return out["result"]
