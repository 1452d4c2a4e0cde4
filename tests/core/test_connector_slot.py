"""connector_slot: a Prefect global concurrency limit holds connector sessions across runs;
without a limit the block runs unlimited with one logged note. Real Prefect API."""

from __future__ import annotations

import logging
import time
from uuid import uuid4

import pytest
from prefect import flow, task

from casework.ops.concurrency import connector_slot, forget_limits

pytestmark = pytest.mark.usefixtures("prefect_api")


def _holding_flow(name: str):
    @task
    def hold(i: int) -> tuple[float, float]:
        with connector_slot(name):
            start = time.monotonic()
            time.sleep(0.6)
            return start, time.monotonic()

    @flow
    def two_sessions() -> list[tuple[float, float]]:
        return [f.result() for f in hold.map([1, 2])]

    return two_sessions


def test_a_limit_of_one_serialises_the_sessions() -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    name = f"legacy-{uuid4().hex[:6]}"
    with get_client(sync_client=True) as client:
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
    forget_limits()
    (a_start, a_end), (b_start, b_end) = sorted(_holding_flow(name)())
    assert b_start >= a_end - 0.05  # the second waited for the first's slot


def test_without_a_limit_the_block_runs_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    name = f"nolimit-{uuid4().hex[:6]}"
    forget_limits()
    with caplog.at_level(logging.WARNING, logger="casework.ops.concurrency"):
        spans = _holding_flow(name)()
    assert len(spans) == 2
    notes = [r for r in caplog.records if "no concurrency limit" in r.getMessage()]
    assert len(notes) == 1 and f"prefect gcl create {name}" in notes[0].getMessage()


def test_outside_a_prefect_run_nothing_is_asked() -> None:
    forget_limits()
    with connector_slot("anything"):  # no API call, no error
        pass
