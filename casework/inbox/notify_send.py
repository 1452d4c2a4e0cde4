"""Sending a notification: an e-mail (stdlib smtplib) or a webhook POST (httpx) in the shape a
Microsoft Teams incoming webhook accepts (a MessageCard; other chat tools read its ``text``).

Settings come from the environment (``CASEWORK_SMTP_*``); a missing host means e-mail is off
and says so, rather than failing every pass of the service loop.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import httpx
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class NotifyError(RuntimeError):
    """A notification could not be sent (the message says where to, never the content)."""


class SmtpSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CASEWORK_SMTP_", extra="ignore")

    host: str | None = Field(default=None, description="SMTP server; unset: no e-mail.")
    port: int = Field(default=25, gt=0, lt=65536)
    sender: str = Field(default="indbakke@kommune.example",
                        description="From address (CASEWORK_SMTP_SENDER).")
    user: str | None = None
    password: SecretStr | None = None
    starttls: bool = Field(default=False, description="Upgrade with STARTTLS before login.")
    ssl: bool = Field(default=False, description="Implicit TLS (port 465).")
    timeout_seconds: float = Field(default=20.0, gt=0)


class Message:
    """One digest: subject, plain text, and the links it points to (for the webhook card)."""

    def __init__(self, subject: str, text: str, links: list[tuple[str, str]],
                 language: str) -> None:
        self.subject, self.text, self.links, self.language = subject, text, links, language


def send_email(settings: SmtpSettings, to: str, message: Message) -> None:
    if not settings.host:
        raise NotifyError("e-mail is not configured (set CASEWORK_SMTP_HOST)")
    mail = EmailMessage()
    mail["From"] = settings.sender
    mail["To"] = to
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(localtime=True)
    mail["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    mail["Content-Language"] = message.language
    mail["Auto-Submitted"] = "auto-generated"  # no vacation replies back to the robot
    mail.set_content(message.text)
    smtp_class = smtplib.SMTP_SSL if settings.ssl else smtplib.SMTP
    try:
        with smtp_class(settings.host, settings.port, timeout=settings.timeout_seconds) as smtp:
            if settings.starttls and not settings.ssl:
                smtp.starttls()
            if settings.user and settings.password:
                smtp.login(settings.user, settings.password.get_secret_value())
            smtp.send_message(mail)
    except (OSError, smtplib.SMTPException) as exc:
        raise NotifyError(f"e-mail to {to} via {settings.host}:{settings.port} failed: "
                          f"{type(exc).__name__}: {exc}") from None


def teams_card(message: Message) -> dict[str, object]:
    """A MessageCard: Teams shows the title, the text and one button per task."""
    return {
        "@type": "MessageCard", "@context": "https://schema.org/extensions",
        "summary": message.subject, "title": message.subject, "text": message.text,
        "potentialAction": [
            {"@type": "OpenUri", "name": name, "targets": [{"os": "default", "uri": url}]}
            for name, url in message.links[:10]  # Teams shows a handful of buttons at most
        ],
    }


def send_webhook(url: str, message: Message, timeout: float = 20.0) -> None:
    try:
        response = httpx.post(url, json=teams_card(message), timeout=timeout)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        host = httpx.URL(url).host
        raise NotifyError(f"webhook to {host} failed: {type(exc).__name__}") from None
