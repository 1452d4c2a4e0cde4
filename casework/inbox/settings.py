"""Inbox configuration from the environment (prefix ``CASEWORK_INBOX_``)."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class InboxConfigError(ValueError):
    """Settings that cannot work together; the message names the variables to fix."""


class InboxSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CASEWORK_INBOX_", extra="ignore")

    dev_login: bool = Field(
        default=False,
        description="LOCAL DEVELOPMENT ONLY: a login page listing seeded users to pick from. "
        "Never enable in production; production logs in through OpenID Connect.",
    )
    secret_key: SecretStr = Field(
        default_factory=lambda: SecretStr(secrets.token_urlsafe(32)),
        description="Signs session cookies (and with them the CSRF token). Set it, and the same "
        "on every server, or sessions end at each restart.",
    )
    cookie_secure: bool = Field(
        default=True, description="Send the session cookie over HTTPS only."
    )
    session_max_age_seconds: int = Field(
        default=8 * 3600, gt=0, description="A session ends this long after login, however "
        "active (absolute timeout).")
    session_idle_seconds: int = Field(
        default=30 * 60, gt=0, description="A session ends after this long without a request "
        "(idle timeout); an open task page keeps it alive.")
    public_url: str = Field(
        default="http://127.0.0.1:8000", description="The inbox's address as caseworkers "
        "open it; notification links are built from it (CASEWORK_INBOX_PUBLIC_URL).")
    kle_warm_up: bool = Field(
        default=True, description="Load the KLE picker's suggestion engine in the background "
        "when the inbox starts, so the first search does not wait for it.")
    idle_cap_seconds: float = Field(
        default=120.0, gt=0,
        description="Longest gap between two signs of activity counted as review time.",
    )
    active_input_seconds: float = Field(
        default=30.0, gt=0, le=600,
        description="Review time counts while the task's tab is visible and the person gave "
        "input (key, pointer, scroll, touch) within this many seconds.",
    )
    fast_approval_seconds: float = Field(
        default=10.0, gt=0, description="Approvals faster than this are flagged for team leads."
    )
    page_size: int = Field(default=25, gt=0, le=200)
    queue_counts_seconds: float = Field(
        default=5.0, ge=0,
        description="How long the queue's count badges may be reused for users who see the "
        "same departments and roles (0: count on every page). A decision made in this "
        "process refreshes them at once.",
    )

    case_url_template: str | None = Field(
        default=None,
        description="Address of a case in the case system, with {case_number} where the "
        "case number goes (e.g. https://sag.example.dk/sager/{case_number}); the task page "
        "links the case number there. Unset: the number is shown without a link.")

    prefect_ui_url: str | None = Field(
        default=None,
        description="Prefect's UI (e.g. https://prefect.example.dk); automation admins get a "
        "link from each task to the flow run that prepared it. Unset: no link.")

    # -- OpenID Connect (production login) -----------------------------------------------
    oidc_issuer: str | None = Field(
        default=None,
        description="Issuer URL of the OpenID provider (its discovery document is at "
        "{issuer}/.well-known/openid-configuration). Setting it turns the OIDC login on.",
    )
    oidc_client_id: str | None = Field(default=None, description="This app's client id.")
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="Client secret; leave unset for a public client (PKCE only)."
    )
    oidc_redirect_url: str | None = Field(
        default=None,
        description="Full URL of /auth/callback as registered at the provider. Unset: derived "
        "from the request (set it behind a reverse proxy).",
    )
    oidc_scopes: str = Field(default="openid profile email",
                             description="Space-separated scopes; must include openid.")
    oidc_leeway_seconds: int = Field(
        default=60, ge=0, le=300, description="Clock skew allowed when checking token times."
    )
    oidc_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Timeout of each call to the provider."
    )

    @field_validator("prefect_ui_url")
    @classmethod
    def _prefect_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("https://", "http://")):
            raise ValueError("CASEWORK_INBOX_PREFECT_UI_URL must start with https:// or http://")
        return value.rstrip("/")

    @field_validator("case_url_template")
    @classmethod
    def _case_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if "{case_number}" not in value:
            raise ValueError("CASEWORK_INBOX_CASE_URL_TEMPLATE must contain {case_number}, "
                             f"e.g. https://sag.example.dk/sager/{{case_number}} (is {value!r})")
        try:
            _check_url("CASEWORK_INBOX_CASE_URL_TEMPLATE",
                       value.replace("{case_number}", "x"))
        except InboxConfigError as exc:
            raise ValueError(str(exc)) from None
        return value

    def check_login(self) -> None:
        """Raise ``InboxConfigError`` when the login settings cannot work as given."""
        issuer = (self.oidc_issuer or "").strip()
        if not issuer:
            if self.oidc_client_id:
                raise InboxConfigError(
                    "CASEWORK_INBOX_OIDC_CLIENT_ID is set but CASEWORK_INBOX_OIDC_ISSUER is "
                    "not: set the issuer URL to turn the OpenID Connect login on.")
            return
        if self.dev_login:
            raise InboxConfigError(
                "CASEWORK_INBOX_DEV_LOGIN=true and CASEWORK_INBOX_OIDC_ISSUER are both set: the "
                "development login must never run beside the real one. Unset "
                "CASEWORK_INBOX_DEV_LOGIN.")
        if not self.oidc_client_id:
            raise InboxConfigError(
                "CASEWORK_INBOX_OIDC_ISSUER is set but CASEWORK_INBOX_OIDC_CLIENT_ID is not: "
                "set the client id registered for the inbox at the provider.")
        _check_url("CASEWORK_INBOX_OIDC_ISSUER", issuer)
        if self.oidc_redirect_url:
            _check_url("CASEWORK_INBOX_OIDC_REDIRECT_URL", self.oidc_redirect_url)
        if "openid" not in self.oidc_scopes.split():
            raise InboxConfigError(
                f"CASEWORK_INBOX_OIDC_SCOPES must include 'openid' (is {self.oidc_scopes!r}).")


def _check_url(name: str, url: str) -> None:
    """https, or http on loopback only (local trials and tests)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return
    raise InboxConfigError(
        f"{name} must be an https:// URL (http:// only on 127.0.0.1 or localhost), not {url!r}.")
