"""OAuth2 bearer tokens for HTTP connectors, as ``httpx.Auth``: fetched on first use, renewed
a minute before they expire, and fetched again once when the system answers 401 (a token
revoked or expired early). A refused token request is a ``PermanentConnectorError`` naming
the token URL, never echoing a secret."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from urllib.parse import urlsplit

import httpx

from connectors.http import PermanentConnectorError, TransientConnectorError

TokenFetcher = Callable[[], tuple[str, float]]  # (access token, seconds it lives)


class RefreshingBearerAuth(httpx.Auth):
    """Bearer auth around any token fetcher; one refresh and resend on a 401."""

    def __init__(self, fetch: TokenFetcher, *, early: float = 60.0,
                 forget: Callable[[], None] | None = None,
                 close: Callable[[], None] | None = None) -> None:
        self._fetch = fetch
        self._close = close
        self._forget = forget  # drop a token cache the fetcher keeps (MSAL's)
        self._early = early
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()
        self.fetched = 0  # how many tokens were fetched (tests and doctor read it)

    def token(self, *, renew: bool = False) -> str:
        with self._lock:
            if renew or self._token is None or time.monotonic() >= self._expires:
                if renew and self._forget is not None:
                    self._forget()
                token, lifetime = self._fetch()
                self._token = token
                self._expires = time.monotonic() + max(0.0, lifetime - self._early)
                self.fetched += 1
            return self._token

    def close(self) -> None:
        """Close what the fetcher holds open (MSAL's HTTP session)."""
        if self._close is not None:
            self._close()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {self.token(renew=True)}"
            yield request


def password_grant(system: str, token_url: str, *, client_id: str, client_secret: str,
                   username: str, password: str, timeout: float = 10.0) -> TokenFetcher:
    """A fetcher for the resource-owner password grant (SBSYS's token endpoint)."""
    path = urlsplit(token_url).path or "/"

    def fetch() -> tuple[str, float]:
        form = {"grant_type": "password", "client_id": client_id,
                "client_secret": client_secret, "username": username, "password": password}
        try:
            response = httpx.post(token_url, data=form, timeout=timeout,
                                  headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise TransientConnectorError(system, "POST", path,
                                          f"token endpoint unreachable: {type(exc).__name__}",
                                          attempts=1) from None
        if response.status_code >= 500:
            raise TransientConnectorError(system, "POST", path, "token endpoint failing",
                                          status=response.status_code, attempts=1)
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or "access_token" not in body:
            reason = body.get("error", "refused") if isinstance(body, dict) else "refused"
            raise PermanentConnectorError(
                system, "POST", path,
                f"token refused ({reason}) for user {username!r}: check client id, secret, "
                "username and password", status=response.status_code)
        return str(body["access_token"]), float(body.get("expires_in", 3600))

    return fetch
