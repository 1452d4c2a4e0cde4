"""Signed cookies, CSRF tokens bound to the session, local-only redirects, security headers.

Two cookie shapes, both HMAC-SHA256 signed JSON: before login ``{"csrf", "iat"}`` (so the login
form carries a CSRF token), after login ``{"sid"}``, a random token naming a row of
``inbox_sessions`` (``casework.inbox.sessions``), which is the session: revoking the row ends it
at once, whoever holds a copy of the cookie. A cookie that is not ASCII, not signed by us or
not well formed is no session at all, never an error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

COOKIE = "cw_inbox"
PRELOGIN_MAX_AGE = 3600  # a login form older than this must be reloaded


@dataclass
class SessionData:
    uid: str | None
    csrf: str
    iat: int
    sid: str | None = None  # the server-side session's token (logged in only)

    @classmethod
    def new(cls, uid: str | None = None) -> SessionData:
        return cls(uid=uid, csrf=secrets.token_urlsafe(32), iat=int(time.time()))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, body: str) -> str:
    return _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())


def seal(key: bytes, data: dict[str, Any]) -> str:
    body = _b64(json.dumps(data, separators=(",", ":")).encode())
    return f"{body}.{_sign(key, body)}"


def unseal(key: bytes, value: str | None) -> dict[str, Any] | None:
    """The signed JSON object in a cookie, or None (missing, forged, malformed, non-ASCII)."""
    if not value or not value.isascii() or "." not in value or len(value) > 4096:
        return None
    body, signature = value.rsplit(".", 1)
    if not hmac.compare_digest(signature.encode(), _sign(key, body).encode()):
        return None
    try:
        raw = json.loads(_unb64(body))
    except ValueError:
        return None
    return raw if isinstance(raw, dict) else None


def encode_prelogin(key: bytes, data: SessionData) -> str:
    return seal(key, {"csrf": data.csrf, "iat": data.iat})


def decode_prelogin(key: bytes, raw: dict[str, Any]) -> SessionData | None:
    csrf, iat = raw.get("csrf"), raw.get("iat")
    if not isinstance(csrf, str) or not isinstance(iat, int) or isinstance(iat, bool):
        return None
    if not 0 <= time.time() - iat <= PRELOGIN_MAX_AGE:
        return None
    return SessionData(uid=None, csrf=csrf, iat=iat)


def csrf_ok(session: SessionData | None, token: str | None) -> bool:
    return bool(session and token and token.isascii()
                and hmac.compare_digest(session.csrf.encode(), token.encode()))


def cookie_header(name: str, value: str, *, secure: bool, max_age: int | None,
                  path: str = "/") -> bytes:
    """One ``Set-Cookie`` header value (HttpOnly, SameSite=Lax)."""
    response = Response()
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax",
                        secure=secure, path=path)
    return dict(response.raw_headers)[b"set-cookie"]


def delete_cookie_header(name: str, *, secure: bool, path: str = "/") -> bytes:
    response = Response()
    response.delete_cookie(name, path=path, secure=secure, httponly=True, samesite="lax")
    return dict(response.raw_headers)[b"set-cookie"]


def queue_cookie(scope_state: Any, header: bytes) -> None:
    """Have ``SecurityHeaders`` add this ``Set-Cookie`` to whatever response is sent."""
    pending = getattr(scope_state, "pending_cookies", None)
    if pending is None:
        pending = []
        scope_state.pending_cookies = pending
    pending.append(header)


def local_path(value: str | None, default: str = "/queue") -> str:
    """``value`` if it is a path on this site (``/queue?page=2``), else ``default``: never a
    redirect to another host (``//evil``, ``https://evil``, ``/\\evil``, control characters)."""
    if not value or len(value) > 2000 or not value.isascii() or not value.isprintable():
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//") \
            or "\\" in value:
        return default
    return value


def local_referer(referer: str | None, host: str | None, default: str = "/queue") -> str:
    """The path of a Referer on this host, else ``default``."""
    if not referer or not referer.isascii():
        return default
    parts = urlsplit(referer)
    if parts.netloc and parts.netloc != (host or ""):
        return default
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return local_path(path, default)


SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def _csp(nonce: str) -> str:
    return (f"default-src 'self'; script-src 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; "
            "img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'")


class SecurityHeaders:
    """Pure ASGI middleware: CSP with a per-response nonce for the one inline script and style,
    no framing, no sniffing, no caching (every page may show personal data), queued cookies,
    and no ``server`` header: on every response, error pages and unhandled errors included
    (an unhandled error becomes a plain 500 page here, logged, instead of reaching the
    server's own error response without these headers)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        state = scope.setdefault("state", {})
        state["csp_nonce"] = nonce
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() != b"server"]
                present = {k.lower() for k, _ in headers}
                if b"content-security-policy" not in present:  # an attachment sets a stricter one
                    headers.append((b"content-security-policy", _csp(nonce).encode()))
                for name, value in SECURITY_HEADERS.items():
                    if name.lower().encode() not in present:
                        headers.append((name.lower().encode(), value.encode()))
                if b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                for cookie in state.get("pending_cookies") or []:
                    headers.append((b"set-cookie", cookie))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            body = (b"<!doctype html><html lang=\"da\"><title>500</title><h1>Der opstod en fejl "
                    b"/ Something went wrong</h1><p>Fejlen er logget. / The error is "
                    b"logged.</p></html>")
            await send_with_headers({"type": "http.response.start", "status": 500, "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
