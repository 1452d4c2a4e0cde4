"""Production login: OpenID Connect authorization-code flow with PKCE.

``GET /login`` keeps ``state``, ``nonce``, the PKCE verifier and the page to return to in a
short-lived signed pre-login cookie named after that attempt's ``state`` (so several tabs can log
in at once), checks the provider answers, and redirects to it; ``GET /auth/callback`` checks
``state``, exchanges the code, verifies the ID token and starts the inbox session for ``sub``
when that is an active ``inbox_users.id``. Users, departments and roles are provisioned in the inbox
database, not taken from token claims.

Logout ends the inbox session, then answers with a page that sends the browser on to the
provider's ``end_session_endpoint`` with ``id_token_hint`` (a page, not a redirect, because the
inbox's CSP ``form-action 'self'`` would block a form post that redirects to another origin).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from urllib.parse import urljoin

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from casework.db.models import InboxUser
from casework.db.session import reading
from casework.inbox.auth import Authenticator, StartSession
from casework.inbox.oidc_client import LoginRequest, OidcClient, OidcError, ProviderUnavailable
from casework.inbox.security import local_path
from casework.inbox.settings import InboxSettings

log = logging.getLogger(__name__)

PRELOGIN_COOKIE = "cw_inbox_login"  # prefix: one cookie per login attempt
PRELOGIN_PATH = "/auth"
PRELOGIN_MAX_AGE = 600
CALLBACK_PATH = "/auth/callback"
LOGGED_OUT_PATH = "/logged-out"


def prelogin_cookie(state: str) -> str:
    """The pre-login cookie of the attempt with this ``state`` (one per attempt)."""
    return f"{PRELOGIN_COOKIE}_{hashlib.sha256(state.encode()).hexdigest()[:16]}"


class OidcAuthenticator(Authenticator):
    def __init__(self, settings: InboxSettings, client: OidcClient | None = None) -> None:
        settings.check_login()
        if not settings.oidc_issuer or not settings.oidc_client_id:
            raise ValueError("OidcAuthenticator needs CASEWORK_INBOX_OIDC_ISSUER and _CLIENT_ID")
        secret = settings.oidc_client_secret
        self.settings = settings
        self.client = client or OidcClient(
            issuer=settings.oidc_issuer.strip(), client_id=settings.oidc_client_id,
            client_secret=secret.get_secret_value() if secret else None,
            scopes=settings.oidc_scopes, leeway_seconds=settings.oidc_leeway_seconds,
            timeout_seconds=settings.oidc_timeout_seconds)
        self._key = hmac.new(settings.secret_key.get_secret_value().encode(),
                             b"casework-inbox-oidc-prelogin", hashlib.sha256).digest()

    # -- URLs ---------------------------------------------------------------------------
    def _redirect_uri(self, request: Request) -> str:
        return self.settings.oidc_redirect_url or str(request.url_for("oidc_callback"))

    def _post_logout_uri(self, request: Request) -> str:
        if self.settings.oidc_redirect_url:
            return urljoin(self.settings.oidc_redirect_url, LOGGED_OUT_PATH)
        return str(request.url_for("oidc_logged_out"))

    def logout_response(self, request: Request, id_token: str | None) -> Response:
        try:
            url = self.client.end_session_url(self._post_logout_uri(request), id_token)
        except ProviderUnavailable as exc:
            log.error("OIDC provider unavailable at logout: %s", exc)
            url = None
        if url is None:
            return RedirectResponse(LOGGED_OUT_PATH, status_code=303)
        return request.app.state.web.render(request, "login_message.html",
                                            message_key="logging_out", refresh_url=url)

    # -- the signed pre-login cookie ----------------------------------------------------
    def _seal(self, login: LoginRequest) -> str:
        body = base64.urlsafe_b64encode(json.dumps(
            {**login.model_dump(), "iat": int(time.time())}, separators=(",", ":")).encode()
        ).rstrip(b"=").decode()
        return f"{body}.{hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()}"

    def _unseal(self, value: str | None) -> LoginRequest | None:
        if not value or not value.isascii() or "." not in value:
            return None
        body, signature = value.rsplit(".", 1)
        expected = hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, expected):
            return None
        try:
            raw = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            if time.time() - int(raw.pop("iat")) > PRELOGIN_MAX_AGE:
                return None
            login = LoginRequest.model_validate(raw)
            return login.model_copy(update={"next_path": local_path(login.next_path)})
        except (ValueError, KeyError, TypeError, ValidationError):
            return None

    # -- routes -------------------------------------------------------------------------
    def router(self, start_session: StartSession) -> APIRouter:
        router = APIRouter()
        settings = self.settings

        def page(request: Request, status: int, key: str, *, attempt: str | None = None,
                 **extra: object) -> Response:
            response = request.app.state.web.render(request, "login_message.html",
                                                    status_code=status, message_key=key,
                                                    **extra)
            if attempt is not None:  # only this attempt's cookie: other tabs go on
                response.delete_cookie(attempt, path=PRELOGIN_PATH)
            return response

        def refuse(request: Request, reason: str, attempt: str | None) -> Response:
            log.warning("OIDC login refused: %s", reason)
            return page(request, 400, "login_failed", attempt=attempt)

        def unavailable(request: Request, exc: Exception, attempt: str | None) -> Response:
            log.error("OIDC provider unavailable: %s", exc)
            return page(request, 502, "login_provider_unavailable", attempt=attempt)

        @router.get("/login")
        def login(request: Request, next: str = "") -> Response:
            pending = LoginRequest.new(self._redirect_uri(request), local_path(next))
            try:
                self.client.check_reachable()
                url = self.client.authorization_url(pending)
            except ProviderUnavailable as exc:
                return unavailable(request, exc, None)
            response = RedirectResponse(url, status_code=303)
            response.set_cookie(prelogin_cookie(pending.state), self._seal(pending),
                                max_age=PRELOGIN_MAX_AGE, httponly=True, samesite="lax",
                                secure=settings.cookie_secure, path=PRELOGIN_PATH)
            return response

        @router.get(CALLBACK_PATH, name="oidc_callback")
        def callback(request: Request, code: str = "", state: str = "", error: str = "",
                     ) -> Response:
            attempt = prelogin_cookie(state) if state and state.isascii() else None
            pending = self._unseal(request.cookies.get(attempt)) if attempt else None
            if error:
                return refuse(request, f"provider returned error={error[:100]!r}", attempt)
            if pending is None:
                # No attempt with this state: expired, missing, forged, or a wrong state.
                return refuse(request, "no valid pre-login cookie for this state (expired, "
                              "missing or forged; state does not match)", attempt)
            if not hmac.compare_digest(state.encode(), pending.state.encode()):
                return refuse(request, "state does not match the pre-login cookie", attempt)
            if not code or not code.isascii() or len(code) > 2000:
                return refuse(request, "callback without a usable code", attempt)
            try:
                tokens = self.client.exchange_code(code, pending)
                claims = self.client.verify_id_token(tokens.id_token, pending.nonce)
            except ProviderUnavailable as exc:
                return unavailable(request, exc, attempt)
            except OidcError as exc:
                return refuse(request, str(exc), attempt)
            subject = claims["sub"]
            with reading(request.app.state.web.engine) as s:
                user = s.get(InboxUser, subject)
                active = user is not None and user.active
            if not active:
                log.warning("OIDC login of a subject that is not an active inbox user: %s",
                            subject)
                return page(request, 403, "account_not_set_up", attempt=attempt,
                            subject=subject)
            log.info("OIDC login: %s", subject)
            response = start_session(request, subject, next_path=pending.next_path,
                                     id_token=tokens.id_token)
            response.delete_cookie(attempt, path=PRELOGIN_PATH)
            return response

        @router.get("/logout/continue", response_class=HTMLResponse)
        def logout_continue(request: Request) -> Response:
            """The provider's logout (older links; ``POST /logout`` goes there directly)."""
            return self.logout_response(request, None)

        @router.get(LOGGED_OUT_PATH, response_class=HTMLResponse, name="oidc_logged_out")
        def logged_out(request: Request) -> Response:
            return page(request, 200, "logged_out")

        return router
