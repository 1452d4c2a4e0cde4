"""Shared HTTP plumbing for connectors: one retry policy and one family of errors.

Transient faults (timeouts, refused or dropped connections, 429/500/502/503/504) are retried
with exponential backoff, honouring ``Retry-After`` up to a cap; everything else fails at once
with an error naming the system, method, path and status. Payloads are validated with pydantic
and a bad one names the field. CPR numbers never reach a message: paths and server details are
masked, and validation errors never echo the offending value.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Self, TypeVar

import httpx
from pydantic import TypeAdapter, ValidationError
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
)

from casework.privacy import mask_cpr
from connectors.limits import request_slot

log = logging.getLogger(__name__)

TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
# Transport faults worth another try: the request may not have reached the server, or the
# answer was lost on the way back. Creating POSTs carry an Idempotency-Key, so a retry is safe.
TRANSIENT_TRANSPORT_ERRORS = (httpx.TimeoutException, httpx.NetworkError,
                              httpx.RemoteProtocolError)

T = TypeVar("T")


class ConnectorError(Exception):
    """A call to an outside system failed. ``str()`` names system, method, path and status."""

    def __init__(self, system: str, method: str, path: str, problem: str, *,
                 status: int | None = None) -> None:
        self.system = system
        self.method = method
        self.path = mask_cpr(path)
        self.status = status
        self.problem = mask_cpr(problem)
        status_text = f" -> {status}" if status is not None else ""
        super().__init__(f"{system}: {method} {self.path}{status_text}: {self.problem}")


class TransientConnectorError(ConnectorError):
    """Still failing after every retry: the system is down or overloaded; try again later."""

    def __init__(self, *args: Any, attempts: int, **kwargs: Any) -> None:
        self.attempts = attempts
        super().__init__(*args, **kwargs)


class PermanentConnectorError(ConnectorError):
    """The system refused the request (4xx): retrying the same request cannot help."""


class NotFoundError(PermanentConnectorError):
    """The thing asked for does not exist (404)."""


class MalformedResponseError(ConnectorError):
    """The answer did not match the expected shape. ``field`` is the dotted path, if known."""

    def __init__(self, *args: Any, field: str | None = None, **kwargs: Any) -> None:
        self.field = field
        super().__init__(*args, **kwargs)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. Waits are seconds; tests use tiny ones."""

    attempts: int = 5
    initial_wait: float = 0.5
    max_wait: float = 8.0
    jitter: float = 0.5
    retry_after_cap: float = 30.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be at least 1")


class _RetryableStatus(Exception):
    """A 429/5xx answer, raised inside the retry loop so tenacity sees it."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
        super().__init__(f"{response.status_code} {response.reason_phrase}")


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, (_RetryableStatus, *TRANSIENT_TRANSPORT_ERRORS))


class _Wait:
    """Exponential backoff with jitter, or the server's Retry-After (capped) when it sent one."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _RetryableStatus) and exc.retry_after is not None:
            return min(exc.retry_after, self.policy.retry_after_cap)
        policy = self.policy
        backoff = policy.initial_wait * 2 ** (state.attempt_number - 1)
        return min(policy.max_wait, backoff) + random.uniform(0, policy.jitter)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, _RetryableStatus):
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(whole payload)"


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


class HttpConnector:
    """Base for JSON-over-HTTP connectors. Subclasses set ``system`` and add typed methods."""

    system: ClassVar[str] = "HTTP service"

    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = 10.0,
                 retry: RetryPolicy | None = None, auth: httpx.Auth | None = None,
                 verify: Any = True) -> None:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.retry = retry or RetryPolicy()
        self._client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout,
                                    headers=headers, auth=auth, verify=verify)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- calls -------------------------------------------------------------------------------

    def request(self, method: str, path: str, *, json: Any = None,
                params: dict[str, Any] | None = None,
                idempotency_key: str | None = None, files: Any = None, data: Any = None,
                retry_transient: bool = True) -> httpx.Response:
        """Send with retries; return a 2xx response or raise a ``ConnectorError``.

        ``retry_transient=False`` sends once: for a creating call the system cannot
        de-duplicate, whose caller checks what happened before trying again.
        """
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        attempts = self.retry.attempts if retry_transient else 1
        retrying = Retrying(
            retry=retry_if_exception(_is_transient),
            stop=stop_after_attempt(attempts),
            wait=_Wait(self.retry),
            before_sleep=lambda state: self._log_retry(method, path, state),
            sleep=time.sleep,
        )
        try:
            for attempt in retrying:
                with attempt, request_slot(self.system):
                    response = self._client.request(method, path, json=json, params=params,
                                                    headers=headers, files=files, data=data)
                    if response.status_code in TRANSIENT_STATUSES:
                        raise _RetryableStatus(response)
        except RetryError as gave_up:
            last = gave_up.last_attempt.exception()
            assert last is not None
            status = last.response.status_code if isinstance(last, _RetryableStatus) else None
            raise TransientConnectorError(
                self.system, method, path,
                f"gave up after {attempts} attempt{'s' if attempts != 1 else ''}; "
                f"last: {_describe(last)}",
                status=status, attempts=attempts) from last
        if response.is_success:
            return response
        error = NotFoundError if response.status_code == 404 else PermanentConnectorError
        raise error(self.system, method, path, self._server_detail(response),
                    status=response.status_code)

    def parse(self, response: httpx.Response, shape: type[T] | TypeAdapter[T]) -> T:
        """Validate a JSON answer into ``shape``; a mismatch names the field, not its value."""
        method, path = response.request.method, response.request.url.path
        try:
            payload = response.json()
        except ValueError:
            kind = response.headers.get("content-type", "no content type")
            raise MalformedResponseError(
                self.system, method, path,
                f"answer is not JSON ({kind}, {len(response.content)} bytes)",
                status=response.status_code) from None
        adapter = shape if isinstance(shape, TypeAdapter) else TypeAdapter(shape)
        try:
            return adapter.validate_python(payload)
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False)[0]
            field = _field_path(first["loc"])
            more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
            raise MalformedResponseError(
                self.system, method, path,
                f"malformed answer: field '{field}': {first['msg']}{more}",
                status=response.status_code, field=field) from None

    def call(self, method: str, path: str, shape: type[T] | TypeAdapter[T], **kwargs: Any) -> T:
        return self.parse(self.request(method, path, **kwargs), shape)

    # -- helpers -----------------------------------------------------------------------------

    def _server_detail(self, response: httpx.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return f"{response.reason_phrase or 'refused'}"
        detail = body.get("detail") if isinstance(body, dict) else None
        if isinstance(detail, list):  # FastAPI-style validation errors: name the fields
            parts = []
            for item in detail[:3]:
                if isinstance(item, dict):
                    loc = _field_path(tuple(item.get("loc", ())))
                    parts.append(f"field '{loc}': {item.get('msg', 'invalid')}")
            detail = "; ".join(parts) or None
        return str(detail) if detail else (response.reason_phrase or "refused")

    def _log_retry(self, method: str, path: str, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning("%s: %s %s failed (%s); retry %d of %d in %.2f s", self.system, method,
                    mask_cpr(path), _describe(exc) if exc else "?", state.attempt_number,
                    self.retry.attempts - 1, wait)
