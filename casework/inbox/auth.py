"""How people log in. The inbox needs only a verified user id; an ``Authenticator`` gets it.

Production: OpenID Connect against the municipality's identity provider (e.g. Entra ID or
KOMBIT Context Handler). Not built yet; an ``OidcAuthenticator`` would implement this interface:

* ``GET /login``: redirect to the provider's authorization endpoint (code flow, PKCE, ``state``
  and ``nonce`` kept in the signed pre-login session);
* ``GET /auth/callback``: check ``state``, exchange the code, verify the ID token (issuer,
  audience, signature against the provider's JWKS, expiry, ``nonce``), map ``sub`` to
  ``inbox_users.id`` (and, if wanted, groups claims to departments and roles), then call
  ``start_session(request, user_id)``.

Local development: ``DevLoginAuthenticator``, enabled only by ``CASEWORK_INBOX_DEV_LOGIN=true``,
shows the seeded users to pick from.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from casework.db.models import InboxUser
from casework.db.session import reading

StartSession = Callable[[Request, str], Response]


class Authenticator(ABC):
    """Adds the login routes; on success they return ``start_session(request, user_id)``."""

    @abstractmethod
    def router(self, start_session: StartSession) -> APIRouter: ...


class DevLoginAuthenticator(Authenticator):
    """LOCAL DEVELOPMENT ONLY: pick any seeded user, no password."""

    def router(self, start_session: StartSession) -> APIRouter:
        router = APIRouter()

        @router.get("/login", response_class=HTMLResponse)
        def login_page(request: Request) -> Response:
            web = request.app.state.web
            web.ensure_session(request)
            with reading(web.engine) as s:
                users = s.execute(select(InboxUser.id, InboxUser.display_name)
                                  .where(InboxUser.active.is_(True))
                                  .order_by(InboxUser.display_name)).all()
            return web.render(request, "login.html", users=users, dev=True)

        @router.post("/login")
        def login(request: Request, user_id: str = Form(...), csrf: str = Form("")) -> Response:
            web = request.app.state.web
            web.require_csrf(request, csrf)
            with reading(web.engine) as s:
                row = s.get(InboxUser, user_id)
                if row is None or not row.active:
                    return web.error(request, 400, "bad_request")
            return start_session(request, user_id)

        return router


class NoLogin(Authenticator):
    """No authenticator configured: the login page says so (HTTP 503)."""

    def router(self, start_session: StartSession) -> APIRouter:
        router = APIRouter()

        @router.get("/login", response_class=HTMLResponse)
        def login_page(request: Request) -> Response:
            web = request.app.state.web
            return web.render(request, "login.html", users=[], dev=False, status_code=503)

        return router
