"""Helpers shared by the flow tests (imported by module name, like tests/inbox/inbox_helpers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from standins.mail_drop import MAIL_DOMAIN, Letter, build_message
from standins.server import LoopbackServer

TOKEN = "flow-test-token"


def admin(server: LoopbackServer, method: str, path: str, **kwargs: Any) -> Any:
    response = httpx.request(method, server.url + path,
                             headers={"Authorization": f"Bearer {TOKEN}"}, **kwargs)
    response.raise_for_status()
    return response.json() if response.content else None


def letter_from(sender: str, name: str, subject: str, text: str, number: int) -> bytes:
    """One more citizen letter, as the mail system would deliver it."""
    return build_message(Letter(sender=f"{sender}@{MAIL_DOMAIN}", sender_name=name,
                                subject=subject, text=text,
                                message_id=f"<extra-{number}@{MAIL_DOMAIN}>",
                                sent_at=datetime.now(UTC) + timedelta(minutes=number))
                         ).as_bytes()
