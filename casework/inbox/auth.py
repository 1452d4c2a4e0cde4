"""How people log in. The inbox needs only a verified user id; an ``Authenticator`` gets it.

``authenticator_for(settings)`` picks one at startup:

* ``CASEWORK_INBOX_OIDC_ISSUER`` set: ``casework.inbox.oidc.OidcAuthenticator``, OpenID Connect
  against the municipality's identity provider (authorization-code flow with PKCE; ``state``,
  ``nonce`` and the verifier in a signed pre-login cookie per attempt; ID token checked against the
  provider's JWKS, issuer, audience, expiry and nonce; ``sub`` must be an active
  ``inbox_users.id``, else a 403 page says the account is not set up);
* ``CASEWORK_INBOX_DEV_LOGIN=true``: ``DevLoginAuthenticator``, LOCAL DEVELOPMENT ONLY, shows
  the seeded users to pick from;
* neither: ``NoLogin`` (the login page says no login is configured).

Both OIDC and the development login set, or OIDC half configured, is refused at startup with
an ``InboxConfigError`` naming the variables (see ``InboxSettings.check_login``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from casework.db.models import InboxUser
from casework.db.session import reading
from casework.inbox.security import local_path
from casework.inbox.settings import InboxSettings

#: ``start_session(request, user_id, next_path=..., id_token=...)``: the response that logs in.
StartSession = Callable[..., Response]


class Authenticator(ABC):
    """Adds the login routes; on success they return ``start_session(request, user_id, ...)``."""

    @abstractmethod
    def router(self, start_session: StartSession) -> APIRouter: ...

    def logout_response(self, request: Request, id_token: str | None) -> Response:
        """Where the browser goes once ``POST /logout`` has ended the inbox session."""
        return RedirectResponse("/login", status_code=303)


def authenticator_for(settings: InboxSettings) -> Authenticator:
    """The login the settings ask for; ``InboxConfigError`` when they contradict each other."""
    settings.check_login()
    if settings.oidc_issuer:
        from casework.inbox.oidc import OidcAuthenticator  # imports this module

        return OidcAuthenticator(settings)
    return DevLoginAuthenticator() if settings.dev_login else NoLogin()


class DevLoginAuthenticator(Authenticator):
    """LOCAL DEVELOPMENT ONLY: pick any seeded user, no password."""

    def router(self, start_session: StartSession) -> APIRouter:
        router = APIRouter()

        @router.get("/login", response_class=HTMLResponse)
        def login_page(request: Request, next: str = "") -> Response:
            web = request.app.state.web
            web.ensure_session(request)
            with reading(web.engine) as s:
                users = s.execute(select(InboxUser.id, InboxUser.display_name)
                                  .where(InboxUser.active.is_(True))
                                  .order_by(InboxUser.display_name)).all()
            return web.render(request, "login.html", users=users, dev=True,
                              next_path=local_path(next, ""))

        @router.post("/login")
        def login(request: Request, user_id: str = Form(..., max_length=100),
                  csrf: str = Form("", max_length=200), next: str = Form("", max_length=2000)
                  ) -> Response:
            web = request.app.state.web
            web.require_csrf(request, csrf)
            with reading(web.engine) as s:
                row = s.get(InboxUser, user_id)
                if row is None or not row.active:
                    return web.error(request, 400, "bad_request")
            return start_session(request, user_id, next_path=next)

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
