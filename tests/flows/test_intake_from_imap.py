"""Intake reading a real mailbox: letters from a Dovecot IMAP server on loopback become work
items keyed by Message-ID, are filed in the case system, and only then moved to "Behandlet";
the same letter delivered twice is one item, and a second run takes nothing in again."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace

import pytest
from imapclient import IMAPClient
from sqlalchemy import func, select

from casework.db.models import LedgerEntry, WorkItem
from casework.db.session import reading
from casework.settings import reset_settings_cache
from standins.dovecot import DovecotServer, running_dovecot, unavailable_reason
from standins.mail_drop import MAIL_DOMAIN, build_message, sample_letters

_reason = unavailable_reason()
if _reason and os.environ.get("CI") == "true":
    raise RuntimeError(f"CI must run the IMAP tests against a real Dovecot: {_reason}")
pytestmark = [pytest.mark.skipif(_reason is not None, reason=f"no Dovecot here: {_reason}"),
              pytest.mark.usefixtures("prefect_api", "systems_env")]


@pytest.fixture
def dovecot(monkeypatch: pytest.MonkeyPatch) -> Iterator[DovecotServer]:
    with running_dovecot() as server:
        for name, value in {"CASEWORK_MAIL_SOURCE": "imap", "CASEWORK_IMAP_HOST": server.host,
                            "CASEWORK_IMAP_PORT": str(server.port),
                            "CASEWORK_IMAP_USERNAME": server.user,
                            "CASEWORK_IMAP_PASSWORD": server.password,
                            "CASEWORK_IMAP_SECURITY": "plain"}.items():
            monkeypatch.setenv(name, value)
        reset_settings_cache()
        yield server


def count(server: DovecotServer, folder: str) -> int:
    with IMAPClient(server.host, port=server.port, ssl=False, timeout=5) as client:
        client.login(server.user, server.password)
        if not client.folder_exists(folder):
            return 0
        client.select_folder(folder, readonly=True)
        return len(client.search(["ALL"]))


def test_letters_from_imap_are_items_filed_once_then_moved(dovecot: DovecotServer) -> None:
    from flows.intake import intake

    letters = [replace(letter, message_id=f"<imap-{n}@{MAIL_DOMAIN}>")
               for n, letter in enumerate(sample_letters()[:2])]
    with IMAPClient(dovecot.host, port=dovecot.port, ssl=False, timeout=5) as client:
        client.login(dovecot.user, dovecot.password)
        for letter in [*letters, letters[0]]:  # the first letter arrives twice
            client.append("INBOX", build_message(letter).as_bytes())

    report = intake()
    assert [r.outcome for r in report.rows] == ["filed", "filed"]
    assert count(dovecot, "INBOX") == 0 and count(dovecot, "Behandlet") == 3
    with reading() as session:
        items = session.scalar(select(func.count()).select_from(WorkItem)
                               .where(WorkItem.flow == "intake"))
        rows = session.scalar(select(func.count()).select_from(LedgerEntry))
    assert items == 2

    assert intake().rows == []  # nothing new: nothing taken in, nothing counted
    with reading() as session:
        assert session.scalar(select(func.count()).select_from(LedgerEntry)) == rows
