"""Inbox configuration from the environment (prefix ``CASEWORK_INBOX_``)."""

from __future__ import annotations

import secrets

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    session_max_age_seconds: int = Field(default=8 * 3600, gt=0)
    idle_cap_seconds: float = Field(
        default=120.0, gt=0,
        description="Longest gap between two signs of activity counted as review time.",
    )
    fast_approval_seconds: float = Field(
        default=10.0, gt=0, description="Approvals faster than this are flagged for team leads."
    )
    page_size: int = Field(default=25, gt=0, le=200)
