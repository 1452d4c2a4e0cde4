"""A small OpenID provider standing in for the municipality's (Entra ID, an OIDC bridge, ...).

Speaks the parts of OpenID Connect the inbox uses, over real HTTP: discovery, ``/authorize``
with a login form (users from a dict), one-time authorization codes bound to client,
redirect URI and PKCE challenge (S256 required), ``/token`` with ``client_secret_basic`` or
``client_secret_post``, RS256 ID tokens signed with a key generated at start, ``/jwks``,
``/userinfo`` and RP-initiated ``/logout``. A login cookie gives single sign-on until logout.

Tests can make it misbehave on purpose to check the relying party's checks:
``id_token_overrides`` (claims merged into the next ID tokens), ``sign_with_foreign_key``
(same ``kid``, a key the JWKS does not publish), ``token_endpoint_status`` (the token endpoint
answers with this HTTP status, e.g. 503, as an overloaded provider does) and
``rotate_key(same_kid=True)`` (a new signing key, published under the old key id).

Local trial: ``python -m standins.oidc_provider --port 8900`` (demo users, password ``demo``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import unquote, urlencode

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from joserfc import jwk, jwt

from standins.server import serving

CODE_LIFETIME = 60
TOKEN_LIFETIME = 300
SSO_COOKIE = "standin_op_sso"


@dataclass
class ProviderUser:
    password: str
    claims: dict[str, Any]  # at least "sub"; name, email, groups ... as the provider would send


@dataclass
class ClientRegistration:
    secret: str | None  # None: public client (PKCE only)
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str] = field(default_factory=list)


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    username: str
    nonce: str | None
    challenge: str
    scope: str
    expires: float


def _rsa_key(kid: str) -> jwk.RSAKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return jwk.RSAKey.import_key(pem, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=") \
        .decode()


class OidcProvider:
    def __init__(self, users: dict[str, ProviderUser],
                 clients: dict[str, ClientRegistration], issuer: str | None = None) -> None:
        self.users = users
        self.clients = clients
        self.issuer = issuer  # set by ``serving()`` to the loopback URL
        self.key = _rsa_key(kid=secrets.token_hex(8))
        self.foreign_key = _rsa_key(kid=self.key.kid or "")
        self.id_token_overrides: dict[str, Any] = {}
        self.sign_with_foreign_key = False
        self.token_requests = 0
        self.jwks_requests = 0
        self.token_endpoint_status: int | None = None
        self._codes: dict[str, _Grant] = {}
        self._access: dict[str, tuple[str, float]] = {}
        self._sessions: dict[str, str] = {}  # SSO cookie value -> username
        self.app = self._build()

    def rotate_key(self, *, same_kid: bool = True) -> None:
        """Sign with a new key from now on (and publish only it), as a provider rotating its
        keys does; ``same_kid`` keeps the old key id, as some do."""
        self.key = _rsa_key(kid=(self.key.kid or "") if same_kid else secrets.token_hex(8))
        self.foreign_key = _rsa_key(kid=self.key.kid or "")

    @contextmanager
    def serving(self) -> Iterator[OidcProvider]:
        """Serve on a loopback port; ``issuer`` becomes that URL."""
        with serving(self.app) as server:
            self.issuer = server.url
            yield self

    # -- helpers --------------------------------------------------------------------------
    def _issuer(self, request: Request) -> str:
        return self.issuer or str(request.base_url).rstrip("/")

    def _client(self, request: Request, client_id: str, client_secret: str | None
                ) -> str | None:
        """The authenticated client id (basic or post), or None."""
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                raw = base64.b64decode(header[6:]).decode()
                client_id, client_secret = (unquote(p) for p in raw.split(":", 1))
            except (ValueError, UnicodeDecodeError):
                return None
        client = self.clients.get(client_id)
        if client is None:
            return None
        if client.secret is None:
            return client_id if client_secret is None else None
        if client_secret is None or not hmac.compare_digest(client_secret, client.secret):
            return None
        return client_id

    def _id_token(self, request: Request, grant: _Grant) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            **self.users[grant.username].claims, "iss": self._issuer(request),
            "aud": grant.client_id, "iat": now, "exp": now + TOKEN_LIFETIME, "auth_time": now}
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        claims.update(self.id_token_overrides)
        key = self.foreign_key if self.sign_with_foreign_key else self.key
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)

    def _issue_code(self, grant: _Grant, state: str | None) -> Response:
        code = secrets.token_urlsafe(32)
        self._codes[code] = grant
        params = {"code": code, **({"state": state} if state is not None else {})}
        sep = "&" if "?" in grant.redirect_uri else "?"
        return RedirectResponse(f"{grant.redirect_uri}{sep}{urlencode(params)}", status_code=302)

    # -- the app --------------------------------------------------------------------------
    def _build(self) -> FastAPI:
        app = FastAPI(title="OpenID provider stand-in", docs_url=None, redoc_url=None,
                      openapi_url=None)

        @app.get("/.well-known/openid-configuration")
        def discovery(request: Request) -> dict[str, Any]:
            base = self._issuer(request)
            return {
                "issuer": base, "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token", "jwks_uri": f"{base}/jwks",
                "userinfo_endpoint": f"{base}/userinfo", "end_session_endpoint": f"{base}/logout",
                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "profile", "email"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic",
                                                          "client_secret_post", "none"],
                "code_challenge_methods_supported": ["S256"],
                "grant_types_supported": ["authorization_code"],
            }

        @app.get("/jwks")
        def jwks() -> dict[str, Any]:
            self.jwks_requests += 1
            return {"keys": [self.key.as_dict(private=False)]}

        def authorize_error(message: str) -> HTMLResponse:
            # Never redirect to an unverified redirect_uri (RFC 6749 4.1.2.1).
            return HTMLResponse(f"<h1>Authorization error</h1><p>{escape(message)}</p>", 400)

        def check_request(params: dict[str, str]) -> str | None:
            client = self.clients.get(params.get("client_id", ""))
            if client is None:
                return "unknown client_id"
            if params.get("redirect_uri") not in client.redirect_uris:
                return "redirect_uri is not registered for this client"
            if params.get("response_type") != "code":
                return "response_type must be code"
            if "openid" not in params.get("scope", "").split():
                return "scope must include openid"
            if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
                return "PKCE with code_challenge_method=S256 is required"
            return None

        def grant_for(params: dict[str, str], username: str) -> _Grant:
            return _Grant(client_id=params["client_id"], redirect_uri=params["redirect_uri"],
                          username=username, nonce=params.get("nonce"),
                          challenge=params["code_challenge"], scope=params["scope"],
                          expires=time.time() + CODE_LIFETIME)

        def login_form(params: dict[str, str], message: str = "", status: int = 200
                       ) -> HTMLResponse:
            hidden = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
                             for k, v in params.items())
            note = f'<p role="alert">{escape(message)}</p>' if message else ""
            return HTMLResponse(
                "<!doctype html><html lang='en'><title>Sign in</title><h1>Sign in</h1>"
                f"{note}<form method='post' action='/authorize'>{hidden}"
                "<label>Username <input name='username' autocomplete='username'></label>"
                "<label>Password <input name='password' type='password'></label>"
                "<button type='submit'>Sign in</button></form></html>", status)

        @app.get("/authorize")
        def authorize(request: Request) -> Response:
            params = dict(request.query_params)
            problem = check_request(params)
            if problem:
                return authorize_error(problem)
            username = self._sessions.get(request.cookies.get(SSO_COOKIE, ""))
            if username and params.get("prompt") != "login":
                return self._issue_code(grant_for(params, username), params.get("state"))
            return login_form(params)

        @app.post("/authorize")
        async def authorize_login(request: Request) -> Response:
            form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
            username, password = form.pop("username", ""), form.pop("password", "")
            problem = check_request(form)
            if problem:
                return authorize_error(problem)
            user = self.users.get(username)
            if user is None or not hmac.compare_digest(user.password, password):
                return login_form(form, "Wrong username or password.", 401)
            response = self._issue_code(grant_for(form, username), form.get("state"))
            sso = secrets.token_urlsafe(32)
            self._sessions[sso] = username
            response.set_cookie(SSO_COOKIE, sso, httponly=True, samesite="lax")
            return response

        def token_error(error: str, status: int = 400) -> JSONResponse:
            headers = {"WWW-Authenticate": "Basic"} if status == 401 else None
            return JSONResponse({"error": error}, status, headers=headers)

        @app.post("/token")
        def token(request: Request, grant_type: str = Form(""), code: str = Form(""),
                  redirect_uri: str = Form(""), code_verifier: str = Form(""),
                  client_id: str = Form(""), client_secret: str | None = Form(None)
                  ) -> Response:
            self.token_requests += 1
            if self.token_endpoint_status is not None:
                return JSONResponse({"error": "temporarily_unavailable"},
                                    self.token_endpoint_status)
            authenticated = self._client(request, client_id, client_secret)
            if authenticated is None:
                return token_error("invalid_client", 401)
            if grant_type != "authorization_code":
                return token_error("unsupported_grant_type")
            grant = self._codes.pop(code, None)  # one-time, whatever happens next
            if (grant is None or grant.expires < time.time() or grant.client_id != authenticated
                    or grant.redirect_uri != redirect_uri
                    or not hmac.compare_digest(_s256(code_verifier), grant.challenge)):
                return token_error("invalid_grant")
            access = secrets.token_urlsafe(32)
            self._access[access] = (grant.username, time.time() + TOKEN_LIFETIME)
            return JSONResponse({"access_token": access, "token_type": "Bearer",
                                 "expires_in": TOKEN_LIFETIME, "scope": grant.scope,
                                 "id_token": self._id_token(request, grant)},
                                headers={"Cache-Control": "no-store"})

        @app.get("/userinfo")
        def userinfo(request: Request) -> Response:
            header = request.headers.get("authorization", "")
            entry = self._access.get(header[7:]) if header.startswith("Bearer ") else None
            if entry is None or entry[1] < time.time():
                return JSONResponse({"error": "invalid_token"}, 401,
                                    headers={"WWW-Authenticate": "Bearer"})
            return JSONResponse(self.users[entry[0]].claims)

        @app.get("/logout")
        def logout(request: Request, client_id: str = "", post_logout_redirect_uri: str = "",
                   state: str = "") -> Response:
            self._sessions.pop(request.cookies.get(SSO_COOKIE, ""), None)
            client = self.clients.get(client_id)
            if post_logout_redirect_uri and client is not None \
                    and post_logout_redirect_uri in client.post_logout_redirect_uris:
                target = post_logout_redirect_uri
                if state:
                    target += ("&" if "?" in target else "?") + urlencode({"state": state})
                response: Response = RedirectResponse(target, status_code=302)
            else:
                response = HTMLResponse("<h1>Signed out</h1>")
            response.delete_cookie(SSO_COOKIE)
            return response

        return app


def main() -> None:
    """Serve the stand-in with the inbox's demo users (password ``demo``) for local trials."""
    import argparse

    import uvicorn

    from casework.inbox.seed import DEMO_USERS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--inbox-url", default="http://127.0.0.1:8000")
    parser.add_argument("--client-secret", default="dev-secret")
    args = parser.parse_args()
    issuer = f"http://127.0.0.1:{args.port}"
    users = {uid: ProviderUser("demo", {"sub": uid, "name": name})
             for uid, name, *_ in DEMO_USERS}
    clients = {"casework-inbox": ClientRegistration(
        args.client_secret, [f"{args.inbox_url}/auth/callback"],
        [f"{args.inbox_url}/logged-out"])}
    print(f"CASEWORK_INBOX_OIDC_ISSUER={issuer} CASEWORK_INBOX_OIDC_CLIENT_ID=casework-inbox "
          f"CASEWORK_INBOX_OIDC_CLIENT_SECRET={args.client_secret}")
    uvicorn.run(OidcProvider(users, clients, issuer).app, host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
