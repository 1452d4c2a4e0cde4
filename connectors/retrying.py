"""The HTTP connectors' retry policy for connectors that do not speak JSON over HTTP (IMAP,
SOAP): retry only what ``is_transient`` calls transient, back off with jitter, and after the
last attempt raise ``TransientConnectorError`` naming system, operation and target."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from tenacity import RetryCallState, RetryError, Retrying, retry_if_exception, stop_after_attempt

from casework.privacy import mask_cpr
from connectors.http import RetryPolicy, TransientConnectorError

log = logging.getLogger(__name__)
T = TypeVar("T")


def describe(exc: BaseException) -> str:
    return mask_cpr(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


def with_retries(fn: Callable[[], T], *, policy: RetryPolicy,
                 is_transient: Callable[[BaseException], bool], system: str, operation: str,
                 target: str, wait_hint: Callable[[BaseException], float | None] | None = None,
                 ) -> T:
    """``fn()`` with retries on transient faults; anything else propagates at once."""

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hinted = wait_hint(exc) if wait_hint and exc else None
        if hinted is not None:
            return min(hinted, policy.retry_after_cap)
        backoff = policy.initial_wait * 2 ** (state.attempt_number - 1)
        return min(policy.max_wait, backoff) + random.uniform(0, policy.jitter)

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning("%s: %s %s failed (%s); retry %d of %d", system, operation, target,
                    describe(exc) if exc else "?", state.attempt_number, policy.attempts - 1)

    retrying = Retrying(retry=retry_if_exception(is_transient),
                        stop=stop_after_attempt(policy.attempts), wait=wait,
                        before_sleep=before_sleep, sleep=time.sleep, reraise=False)
    try:
        return retrying(fn)
    except RetryError as gave_up:
        last = gave_up.last_attempt.exception()
        assert last is not None
        raise TransientConnectorError(
            system, operation, target,
            f"gave up after {policy.attempts} attempts; last: {describe(last)}",
            attempts=policy.attempts) from last
