"""Where the case system is and how to log in: environment settings, URL overridable per run.

The URL may come from a flow parameter (``case_system_url``) or ``CASEWORK_CASE_SYSTEM_URL``;
the token comes only from ``CASEWORK_CASE_SYSTEM_TOKEN`` (or a ``.env`` the worker reads),
never from a flow parameter, because Prefect stores flow parameters in plain text.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from flows.settings import connector_settings


class CaseSystemConfigError(ValueError):
    """The case-system connection is half configured; the message names the setting."""


class CaseSystemConnection(BaseModel):
    """A configured connection, safe to pass to steps: the token is a secret in repr and JSON."""

    model_config = ConfigDict(frozen=True)

    url: str = Field(min_length=1)
    token: SecretStr

    def client(self) -> Any:
        """A client for one block (``with connection.client() as client``): the run's shared
        client when the flow opened one (``shared()``), else a new one closed after the block."""
        open_now = _shared.get()
        if open_now is not None and self.url in open_now:
            return _Borrowed(open_now[self.url])
        # Timeout and retries from the same settings as every other connector, read fresh.
        return connector_settings().case_system(self.url, token=self.token)

    @contextmanager
    def shared(self) -> Iterator[None]:
        """One client (one connection pool) for every step of the run, in every item's thread,
        instead of a new one per step."""
        client = connector_settings().case_system(self.url, token=self.token)
        token = _shared.set({**(_shared.get() or {}), self.url: client})
        try:
            yield
        finally:
            _shared.reset(token)
            client.close()


_shared: ContextVar[dict[str, Any] | None] = ContextVar("case_system_shared", default=None)


class _Borrowed:
    """The run's shared client in a ``with`` block that must not close it."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __enter__(self) -> Any:
        return self._client

    def __exit__(self, *exc: object) -> None:
        return None


def case_system_connection(url: str | None = None) -> CaseSystemConnection | None:
    """The connection, or ``None`` when no case-system URL is given anywhere.

    Raises ``CaseSystemConfigError`` when a URL is known but the token is not (or a setting
    has a bad value), rather than calling the system anonymously.
    """
    try:
        env = connector_settings()
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        name = "CASEWORK_" + str(first["loc"][0]).upper()
        raise CaseSystemConfigError(f"{name}: {first['msg']}") from None
    url = (url or env.case_system_url or "").strip()
    if not url:
        return None
    if not url.startswith(("http://", "https://")):
        raise CaseSystemConfigError(f"case-system URL {url!r} must start with http:// or https://")
    token = env.case_system_token
    if token is None or not token.get_secret_value():
        raise CaseSystemConfigError(
            "a case-system URL is configured but CASEWORK_CASE_SYSTEM_TOKEN is not set")
    return CaseSystemConnection(url=url, token=token)
