"""Request helpers shared by the routes: session, current user, language, rendering, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Engine

from casework.db.session import transaction
from casework.inbox import i18n, sessions
from casework.inbox.identity import User
from casework.inbox.present import Present
from casework.inbox.queue import LOCAL_TIME
from casework.inbox.security import (
    COOKIE,
    SessionData,
    cookie_header,
    csrf_ok,
    decode_prelogin,
    delete_cookie_header,
    encode_prelogin,
    queue_cookie,
    seal,
    unseal,
)
from casework.inbox.settings import InboxSettings

TEMPLATES = Path(__file__).parent / "templates"


class LoginRequired(Exception):
    """No valid session: the app redirects to /login."""


class CsrfFailed(Exception):
    """A state-changing request without the session's CSRF token."""


class PageError(Exception):
    def __init__(self, status: int, key: str) -> None:
        super().__init__(key)
        self.status, self.key = status, key


def _local_time(value: datetime | None) -> str:
    if value is None:
        return "–"
    value = value if value.tzinfo else value.replace(tzinfo=UTC)  # stored as UTC
    return value.astimezone(LOCAL_TIME).strftime("%d-%m-%Y %H:%M")


class Web:
    def __init__(self, settings: InboxSettings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.key = settings.secret_key.get_secret_value().encode()
        env = Environment(loader=FileSystemLoader(TEMPLATES),
                          autoescape=select_autoescape(default=True, default_for_string=True))
        env.filters["when"] = _local_time
        self.templates = Jinja2Templates(env=env)

    # -- session and user --------------------------------------------------------------
    def session(self, request: Request) -> SessionData | None:
        """The request's session: a live server-side session, or a pre-login one, or None.
        A revoked, expired, forged or malformed cookie is no session (and is cleared)."""
        if hasattr(request.state, "session"):
            return request.state.session
        session, user = None, None
        raw = unseal(self.key, request.cookies.get(COOKIE))
        if raw is not None and isinstance(raw.get("sid"), str):
            with transaction(self.engine) as s:
                live = sessions.lookup(s, raw["sid"],
                                       idle_seconds=self.settings.session_idle_seconds,
                                       max_age_seconds=self.settings.session_max_age_seconds)
            if live is None:
                self.clear_cookie(request)
            else:
                user = live.user
                session = SessionData(uid=user.id, csrf=live.csrf, iat=0, sid=live.token)
                if live.rotated:
                    self.queue_session_cookie(request, live.token)
        elif raw is not None:
            session = decode_prelogin(self.key, raw)
        request.state.session, request.state.user = session, user
        return session

    def user(self, request: Request) -> User | None:
        self.session(request)
        return request.state.user

    def queue_session_cookie(self, request: Request, token: str) -> None:
        queue_cookie(request.state, cookie_header(
            COOKIE, seal(self.key, {"sid": token}), secure=self.settings.cookie_secure,
            max_age=self.settings.session_max_age_seconds))

    def clear_cookie(self, request: Request) -> None:
        queue_cookie(request.state, delete_cookie_header(COOKIE,
                                                         secure=self.settings.cookie_secure))

    def start_session(self, request: Request, user: User, id_token: str | None = None) -> None:
        """Log in: a new server-side session (new token, new CSRF token: no fixation); a
        session the browser already had is revoked."""
        old = self.session(request)
        with transaction(self.engine) as s:
            if old is not None and old.sid:
                sessions.revoke(s, old.sid, "login")
            live = sessions.create(s, user, id_token=id_token)
        self.queue_session_cookie(request, live.token)

    def end_session(self, request: Request) -> str | None:
        """Log out: revoke this session now; returns its ID token (for ``id_token_hint``)."""
        session = self.session(request)
        id_token = None
        if session is not None and session.sid:
            with transaction(self.engine) as s:
                id_token = sessions.id_token_of(s, session.sid)
                sessions.revoke(s, session.sid, "logout")
        self.clear_cookie(request)
        return id_token

    def require_user(self, request: Request) -> User:
        user = self.user(request)
        if user is None:
            raise LoginRequired()
        return user

    def require_csrf(self, request: Request, token: str | None) -> None:
        if not csrf_ok(self.session(request), token):
            raise CsrfFailed()

    def language(self, request: Request) -> str:
        user = self.user(request)
        return i18n.pick_language(user.language if user else None,
                                  request.headers.get("accept-language"))

    # -- rendering ---------------------------------------------------------------------
    def render(self, request: Request, template: str, status_code: int = 200,
               **context: Any) -> Response:
        lang = self.language(request)
        session = self.session(request)

        def t(key: str, **values: object) -> str:
            return i18n.translate(key, lang, **values)

        response = self.templates.TemplateResponse(
            request, template, status_code=status_code,
            context={"t": t, "lang": lang, "user": self.user(request), "fmt": Present(lang),
                     "csrf": session.csrf if session else "",
                     "nonce": getattr(request.state, "csp_nonce", ""), **context},
        )
        return response

    def error(self, request: Request, status: int, key: str) -> Response:
        return self.render(request, "error.html", status_code=status, message_key=key)

    def ensure_session(self, request: Request) -> SessionData:
        """A (pre-login) session so that the login form also carries a CSRF token."""
        session = self.session(request)
        if session is None:
            session = SessionData.new()
            request.state.session = session
            queue_cookie(request.state, cookie_header(
                COOKIE, encode_prelogin(self.key, session), secure=self.settings.cookie_secure,
                max_age=None))
        return session
