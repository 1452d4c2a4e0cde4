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

from casework.db.session import reading
from casework.inbox import i18n
from casework.inbox.identity import User, load_user
from casework.inbox.queue import LOCAL_TIME
from casework.inbox.security import (
    COOKIE,
    SessionData,
    csrf_ok,
    decode_session,
    set_session_cookie,
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
        if not hasattr(request.state, "session"):
            request.state.session = decode_session(
                self.key, request.cookies.get(COOKIE), self.settings.session_max_age_seconds)
        return request.state.session

    def user(self, request: Request) -> User | None:
        if not hasattr(request.state, "user"):
            session = self.session(request)
            user = None
            if session is not None and session.uid:
                with reading(self.engine) as s:
                    user = load_user(s, session.uid)
            request.state.user = user
        return request.state.user

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
            context={"t": t, "lang": lang, "user": self.user(request),
                     "csrf": session.csrf if session else "",
                     "nonce": getattr(request.state, "csp_nonce", ""), **context},
        )
        pending = getattr(request.state, "new_session", None)
        if pending is not None:
            set_session_cookie(response, self.key, pending, secure=self.settings.cookie_secure,
                               max_age=self.settings.session_max_age_seconds)
        return response

    def error(self, request: Request, status: int, key: str) -> Response:
        return self.render(request, "error.html", status_code=status, message_key=key)

    def ensure_session(self, request: Request) -> SessionData:
        """A (pre-login) session so that the login form also carries a CSRF token."""
        session = self.session(request)
        if session is None:
            session = SessionData.new()
            request.state.session = session
            request.state.new_session = session
        return session
