"""The IMAP mail source against a real Dovecot on loopback (started per test with a throwaway
config): unseen mail fetched without a trace, moved to Behandlet only when acknowledged,
duplicates once, broken messages kept in Afvist, wrong password and dead server named."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator

import pytest
from imapclient import IMAPClient

from connectors.http import PermanentConnectorError, RetryPolicy, TransientConnectorError
from connectors.imap_mailbox import ImapMailbox, ImapSettings
from connectors.interfaces import MailSource
from standins.dovecot import DovecotServer, running_dovecot, unavailable_reason
from standins.mail_drop import build_message, sample_letters

FAST = RetryPolicy(attempts=3, initial_wait=0.01, max_wait=0.05, jitter=0.01)

_reason = unavailable_reason()
if _reason and os.environ.get("CI") == "true":
    raise RuntimeError(f"CI must run the IMAP tests against a real Dovecot: {_reason}")
pytestmark = pytest.mark.skipif(_reason is not None, reason=f"no Dovecot here: {_reason}")


@pytest.fixture
def dovecot() -> Iterator[DovecotServer]:
    with running_dovecot() as server:
        yield server


def settings(server: DovecotServer, **changes: object) -> ImapSettings:
    base = {"host": server.host, "port": server.port, "username": server.user,
            "password": server.password, "security": "plain", "timeout": 5.0}
    return ImapSettings(**{**base, **changes})


def imap(server: DovecotServer) -> IMAPClient:
    client = IMAPClient(server.host, port=server.port, ssl=False, timeout=5)
    client.login(server.user, server.password)
    return client


def append(server: DovecotServer, *messages: bytes) -> None:
    with imap(server) as client:
        for raw in messages:
            client.append("INBOX", raw)


def folder_ids(server: DovecotServer, folder: str) -> list[str]:
    with imap(server) as client:
        if not client.folder_exists(folder):
            return []
        client.select_folder(folder, readonly=True)
        found = client.fetch(client.search(["ALL"]), ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
        return sorted(data[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"].decode().split(":", 1)[1].strip()
                      for data in found.values())


def samples() -> list[bytes]:
    return [bytes(build_message(letter)) for letter in sample_letters()]


def test_fetch_changes_nothing_and_acknowledge_moves_to_behandlet(
        dovecot: DovecotServer) -> None:
    append(dovecot, *samples())
    box = ImapMailbox(settings(dovecot), retry=FAST)
    assert isinstance(box, MailSource)
    letters = box.fetch_pending()
    assert [letter.sender_name for letter in letters] == [
        "Karen Holm Sørensen", "Mads Nørgaard Petersen", "Lise Dam Andersen", "Peter Hviid"]
    karen = letters[0]
    assert karen.message_id.startswith("<") and b"Message-ID" in karen.raw
    assert [a.filename for a in karen.attachments] == ["facadetegning.pdf", "bemaerkninger.txt"]
    # Fetching left every message unseen in the inbox: a crash here loses nothing.
    assert [m.message_id for m in box.fetch_pending()] == [m.message_id for m in letters]

    box.acknowledge(karen.message_id)
    box.acknowledge(karen.message_id)  # twice is harmless
    assert folder_ids(dovecot, "Behandlet") == [karen.message_id]
    rest = box.fetch_pending()
    assert [m.message_id for m in rest] == [m.message_id for m in letters[1:]]
    assert len(folder_ids(dovecot, "INBOX")) == 3


def test_acknowledge_from_a_new_process_finds_the_letter_by_message_id(
        dovecot: DovecotServer) -> None:
    append(dovecot, *samples()[:2])
    first = ImapMailbox(settings(dovecot), retry=FAST).fetch_pending()[0]
    ImapMailbox(settings(dovecot), retry=FAST).acknowledge(first.message_id)  # after a crash
    assert folder_ids(dovecot, "Behandlet") == [first.message_id]


def test_two_copies_of_one_letter_come_once_and_leave_together(dovecot: DovecotServer) -> None:
    raw = samples()[0]
    append(dovecot, raw, raw)
    box = ImapMailbox(settings(dovecot), retry=FAST)
    letters = box.fetch_pending()
    assert len(letters) == 1
    box.acknowledge(letters[0].message_id)
    assert folder_ids(dovecot, "INBOX") == []
    assert len(folder_ids(dovecot, "Behandlet")) == 2


def test_only_unseen_by_default_and_all_when_asked(dovecot: DovecotServer) -> None:
    append(dovecot, *samples()[:2])
    with imap(dovecot) as client:
        client.select_folder("INBOX")
        client.add_flags(client.search(["ALL"])[:1], [b"\\Seen"])
    assert len(ImapMailbox(settings(dovecot), retry=FAST).fetch_pending()) == 1
    everything = ImapMailbox(settings(dovecot, only_unseen=False), retry=FAST)
    assert len(everything.fetch_pending()) == 2


def test_a_malformed_message_is_kept_in_afvist_with_a_reason(dovecot: DovecotServer) -> None:
    broken = (b"Subject: Byggesag 120463-5017\r\nMessage-ID: <broken@x>\r\n\r\n"
              b"no sender here\r\n")
    append(dovecot, broken, samples()[1])
    box = ImapMailbox(settings(dovecot), retry=FAST)
    letters = box.fetch_pending()
    assert [letter.sender_name for letter in letters] == ["Mads Nørgaard Petersen"]
    assert [r.reason for r in box.rejected] == ["no sender address (From header)"]
    assert folder_ids(dovecot, "Afvist") == ["<broken@x>"]
    assert len(folder_ids(dovecot, "INBOX")) == 1


def test_wrong_password_is_a_clear_error_and_not_retried(dovecot: DovecotServer) -> None:
    box = ImapMailbox(settings(dovecot, password="forkert"),
                      retry=RetryPolicy(attempts=5, initial_wait=1.0))
    started = time.monotonic()
    with pytest.raises(PermanentConnectorError) as caught:
        box.fetch_pending()
    assert time.monotonic() - started < 3.0  # Dovecot delays a failed login ~1 s; no retries
    assert "login refused for 'robot@kommune.test'" in str(caught.value)
    assert "forkert" not in str(caught.value)


def test_unreachable_server_is_retried_then_named() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens
    box = ImapMailbox(ImapSettings(host="127.0.0.1", port=port, username="u", password="p",
                                   security="plain", timeout=1.0), retry=FAST)
    with pytest.raises(TransientConnectorError) as caught:
        box.fetch_pending()
    assert caught.value.attempts == 3
    assert f"imap://127.0.0.1:{port}/INBOX" in str(caught.value)
    assert "ConnectionRefusedError" in str(caught.value)
