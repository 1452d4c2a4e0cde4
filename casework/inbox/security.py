"""Signed session cookie, CSRF tokens bound to it, and security headers.

The session is a small JSON object in a cookie signed with HMAC-SHA256 (no server-side store):
``{"uid": user id or null, "csrf": random token, "iat": issued at}``. The CSRF token lives in
the signed session, so a form token only matches the session it was rendered for.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "cw_inbox"


@dataclass
class SessionData:
    uid: str | None
    csrf: str
    iat: int

    @classmethod
    def new(cls, uid: str | None = None) -> SessionData:
        return cls(uid=uid, csrf=secrets.token_urlsafe(32), iat=int(time.time()))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, body: str) -> str:
    return _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())


def encode_session(key: bytes, data: SessionData) -> str:
    body = _b64(json.dumps({"uid": data.uid, "csrf": data.csrf, "iat": data.iat},
                           separators=(",", ":")).encode())
    return f"{body}.{_sign(key, body)}"


def decode_session(key: bytes, value: str | None, max_age: int) -> SessionData | None:
    """The session in a cookie, or None when missing, tampered with or expired."""
    if not value or "." not in value:
        return None
    body, signature = value.rsplit(".", 1)
    if not hmac.compare_digest(signature, _sign(key, body)):
        return None
    try:
        raw = json.loads(_unb64(body))
        data = SessionData(uid=raw["uid"], csrf=str(raw["csrf"]), iat=int(raw["iat"]))
    except (ValueError, KeyError, TypeError):
        return None
    if time.time() - data.iat > max_age:
        return None
    return data


def csrf_ok(session: SessionData | None, token: str | None) -> bool:
    return bool(session and token and hmac.compare_digest(session.csrf, token))


def set_session_cookie(response: Response, key: bytes, data: SessionData, *, secure: bool,
                       max_age: int) -> None:
    response.set_cookie(COOKIE, encode_session(key, data), max_age=max_age, httponly=True,
                        samesite="lax", secure=secure, path="/")


class SecurityHeaders(BaseHTTPMiddleware):
    """CSP with a per-response nonce for the one inline script and style; no framing; no
    caching of anything but static files (every page may show personal data)."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        nonce = secrets.token_urlsafe(16)
        request.state.csp_nonce = nonce
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = (
            f"default-src 'self'; script-src 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; "
            "img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'"
        )
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers.setdefault("Cache-Control", "no-store")
        return response
