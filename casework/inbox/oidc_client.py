"""The relying-party side of OpenID Connect: discovery, code exchange, ID token checks.

No web framework here: ``casework.inbox.oidc`` turns this into login routes. Signatures are
checked with ``joserfc`` (the JOSE library that Authlib's own ``authlib.jose`` now defers to)
against the provider's JWKS; only asymmetric algorithms are accepted, never ``none`` or HMAC.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from joserfc import jwk, jwt
from joserfc.errors import BadSignatureError, JoseError
from pydantic import BaseModel, ConfigDict, ValidationError

ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                         "ES512")
METADATA_MAX_AGE = 3600.0
#: At most one JWKS refetch per this many seconds when a token names an unknown key id or its
#: signature does not verify with the cached key (a key rotated under the same id).
JWKS_REFETCH_INTERVAL = 60.0
#: Cached keys are fetched again after this long, whatever the tokens say.
JWKS_MAX_AGE = 3600.0
#: ``/login`` checks the provider answers before sending the browser there, at most this often.
REACHABLE_FOR = 5.0
NEVER = float("-inf")  # a time before any monotonic clock reading


class OidcError(Exception):
    """The login cannot go on; ``str(exc)`` is for the log, never shown to the user."""


class ProviderUnavailable(OidcError):
    """The provider did not answer, or answered with something that is not OIDC."""


class ProviderMetadata(BaseModel):
    """The parts of the discovery document this client uses."""

    model_config = ConfigDict(extra="ignore")

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None = None
    end_session_endpoint: str | None = None
    token_endpoint_auth_methods_supported: list[str] = ["client_secret_basic"]
    id_token_signing_alg_values_supported: list[str] = ["RS256"]


class TokenResponse(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id_token: str
    access_token: str | None = None
    token_type: str | None = None


class LoginRequest(BaseModel):
    """What the pre-login session keeps between the redirect and the callback."""

    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    next_path: str = "/queue"  # the inbox page the login started from (a local path)

    @classmethod
    def new(cls, redirect_uri: str, next_path: str = "/queue") -> LoginRequest:
        return cls(state=secrets.token_urlsafe(32), nonce=secrets.token_urlsafe(32),
                   code_verifier=secrets.token_urlsafe(64), redirect_uri=redirect_uri,
                   next_path=next_path)


def s256_challenge(code_verifier: str) -> str:
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OidcClient:
    """One provider and one client registration; safe to share between request threads."""

    def __init__(self, *, issuer: str, client_id: str, client_secret: str | None,
                 scopes: str = "openid", leeway_seconds: int = 60,
                 timeout_seconds: float = 10.0) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.scopes = scopes
        self.leeway = leeway_seconds
        self._http = httpx.Client(timeout=timeout_seconds, follow_redirects=False)
        self._lock = threading.Lock()
        self._metadata: ProviderMetadata | None = None
        self._metadata_at = NEVER
        self._keys: jwk.KeySet | None = None
        self._keys_at = NEVER
        self._answered_at = NEVER  # when the provider last answered a request of ours

    # -- provider documents ---------------------------------------------------------------
    def _get_json(self, url: str, what: str) -> Any:
        try:
            response = self._http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"{what} at {url}: {type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise ProviderUnavailable(f"{what} at {url}: HTTP {response.status_code}")
        self._answered_at = time.monotonic()
        try:
            return response.json()
        except ValueError as exc:
            raise ProviderUnavailable(f"{what} at {url}: not JSON") from exc

    def metadata(self) -> ProviderMetadata:
        """The discovery document, fetched on first use and again after an hour."""
        with self._lock:
            if self._metadata and time.monotonic() - self._metadata_at < METADATA_MAX_AGE:
                return self._metadata
        url = f"{self.issuer}/.well-known/openid-configuration"
        try:
            metadata = ProviderMetadata.model_validate(self._get_json(url, "discovery document"))
        except ValidationError as exc:
            raise ProviderUnavailable(f"discovery document at {url}: {exc}") from exc
        if metadata.issuer.rstrip("/") != self.issuer:
            # OIDC Discovery 4.3: the document must name the issuer it was fetched for.
            raise ProviderUnavailable(
                f"discovery document at {url} names issuer {metadata.issuer!r}")
        with self._lock:
            self._metadata, self._metadata_at = metadata, time.monotonic()
        return metadata

    def check_reachable(self) -> None:
        """``ProviderUnavailable`` unless the provider answered within ``REACHABLE_FOR``
        seconds or answers its discovery document now (refreshing the cached copy): the
        browser is only sent to a provider that is up."""
        with self._lock:
            recent = time.monotonic() - self._answered_at < REACHABLE_FOR
        if not recent:
            with self._lock:
                self._metadata_at = NEVER  # fetch it again
            self.metadata()

    def _key_set(self, kid: str | None, *, refresh: bool = False) -> jwk.KeySet:
        """The provider's keys; fetched again when older than ``JWKS_MAX_AGE``, and
        (rate-limited) when ``kid`` is unknown or ``refresh`` asks (a failed signature)."""
        with self._lock:
            keys, fetched_at = self._keys, self._keys_at
        age = time.monotonic() - fetched_at
        known = keys is not None and (kid is None or any(k.kid == kid for k in keys.keys))
        if keys is not None and age < JWKS_MAX_AGE and (
                (known and not refresh) or age < JWKS_REFETCH_INTERVAL):
            return keys
        data = self._get_json(self.metadata().jwks_uri, "JWKS")
        try:
            keys = jwk.KeySet.import_key_set(data)
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise ProviderUnavailable(f"JWKS: {exc}") from exc
        with self._lock:
            self._keys, self._keys_at = keys, time.monotonic()
        return keys

    # -- the flow -----------------------------------------------------------------------
    def authorization_url(self, login: LoginRequest) -> str:
        params = {
            "response_type": "code", "client_id": self.client_id, "scope": self.scopes,
            "redirect_uri": login.redirect_uri, "state": login.state, "nonce": login.nonce,
            "code_challenge": s256_challenge(login.code_verifier),
            "code_challenge_method": "S256",
        }
        endpoint = self.metadata().authorization_endpoint
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"

    def exchange_code(self, code: str, login: LoginRequest) -> TokenResponse:
        metadata = self.metadata()
        data = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": login.redirect_uri, "code_verifier": login.code_verifier}
        auth: tuple[str, str] | None = None
        if self.client_secret is None:
            data["client_id"] = self.client_id  # public client: PKCE is the proof
        elif "client_secret_basic" in metadata.token_endpoint_auth_methods_supported:
            # RFC 6749 2.3.1: form-encode both before Basic encoding.
            auth = (quote(self.client_id, safe=""), quote(self.client_secret, safe=""))
        else:
            data.update(client_id=self.client_id, client_secret=self.client_secret)
        try:
            response = self._http.post(metadata.token_endpoint, data=data, auth=auth,
                                       headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"token endpoint: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            # The provider is down or overloaded: not the user's fault, try again later.
            raise ProviderUnavailable(f"token endpoint: HTTP {response.status_code}")
        self._answered_at = time.monotonic()
        if response.status_code != 200:
            try:
                error = response.json().get("error", "?")
            except (ValueError, AttributeError):
                error = "?"
            raise OidcError(f"token endpoint refused the code: HTTP {response.status_code} "
                            f"error={error}")
        try:
            return TokenResponse.model_validate_json(response.content)
        except ValidationError as exc:
            raise OidcError(f"token response without a usable id_token: {exc}") from exc

    def verify_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The ID token's claims after checking signature, issuer, audience, times, nonce."""
        metadata = self.metadata()
        algorithms = [a for a in metadata.id_token_signing_alg_values_supported
                      if a in ASYMMETRIC_ALGORITHMS] or ["RS256"]
        header = _unverified_header(id_token)
        try:
            try:
                token = jwt.decode(id_token, self._key_set(header.get("kid")),
                                   algorithms=algorithms)
            except BadSignatureError:
                # Maybe the provider rotated its key under the same id: fetch the key set once
                # more (rate-limited) and try again; a forged token still fails.
                token = jwt.decode(id_token, self._key_set(header.get("kid"), refresh=True),
                                   algorithms=algorithms)
            jwt.JWTClaimsRegistry(
                leeway=self.leeway,
                iss={"essential": True, "value": metadata.issuer},
                aud={"essential": True, "value": self.client_id},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(token.claims)
        except JoseError as exc:
            raise OidcError(f"ID token refused: {type(exc).__name__}: {exc}") from exc
        claims = token.claims
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise OidcError("ID token refused: several audiences and azp is not this client")
        if not isinstance(claims["sub"], str) or not claims["sub"]:
            raise OidcError("ID token refused: empty sub")
        return claims

    def end_session_url(self, post_logout_redirect_uri: str, id_token_hint: str | None = None
                        ) -> str | None:
        """RP-initiated logout at the provider, if it advertises ``end_session_endpoint``
        (with ``id_token_hint`` when the session kept the ID token; some brokers require it)."""
        endpoint = self.metadata().end_session_endpoint
        if not endpoint:
            return None
        params = {"client_id": self.client_id,
                  "post_logout_redirect_uri": post_logout_redirect_uri}
        if id_token_hint:
            params["id_token_hint"] = id_token_hint
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"


def _unverified_header(token: str) -> dict[str, Any]:
    """The JOSE header, only to pick the key; everything in it is checked by ``jwt.decode``."""
    try:
        segment = token.split(".", 1)[0]
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, IndexError) as exc:
        raise OidcError("ID token refused: malformed header") from exc
    if not isinstance(header, dict):
        raise OidcError("ID token refused: malformed header")
    return header
