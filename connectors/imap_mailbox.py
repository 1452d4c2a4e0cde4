"""Citizen letters from an IMAP mailbox (the municipality's mail server or Exchange's IMAP).

The same two phases as the drop folder (``connectors.interfaces.MailSource``):

- ``fetch_pending()`` logs in, selects the folder read-only, ``UID SEARCH``es unseen mail (or
  all mail, ``only_unseen=False``) and fetches the raw MIME with ``BODY.PEEK[]``, which leaves
  the ``\\Seen`` flag alone. Nothing on the server changes, except that a message that is not
  a usable letter is moved to the rejected folder (``Afvist``): kept, never dropped.
- ``acknowledge(message_id)`` moves every copy of the letter to the done folder
  (``Behandlet``, created when missing) once the case system has it. It finds the copies by the
  UIDs of the last fetch (when UIDVALIDITY is unchanged), else by ``HEADER Message-ID``, so it
  also works in a new process after a crash. Moving twice is harmless: the second finds nothing.

Connection faults (refused, reset, timeout, the server dropping the line) are retried with the
connectors' policy; a refused login is not retried.
"""

from __future__ import annotations

import imaplib
import logging
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Literal

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from casework.privacy import mask_cpr
from connectors.http import PermanentConnectorError, RetryPolicy
from connectors.mailbox import IncomingLetter, MalformedLetter, _short, parse_letter
from connectors.retrying import describe, with_retries

log = logging.getLogger(__name__)

SYSTEM = "IMAP mailbox"
FETCH_CHUNK = 50


class ImapSettings(BaseModel):
    """Where the mailbox is. ``security``: ``ssl`` (port 993), ``starttls`` or ``plain``
    (loopback tests only)."""

    model_config = ConfigDict(frozen=True)

    host: str = Field(min_length=1)
    port: int = Field(default=993, gt=0, lt=65536)
    username: str = Field(min_length=1)
    password: SecretStr
    security: Literal["ssl", "starttls", "plain"] = "ssl"
    folder: str = "INBOX"
    done_folder: str = "Behandlet"
    rejected_folder: str = "Afvist"
    only_unseen: bool = True
    timeout: float = Field(default=30.0, gt=0)


class RejectedMessage(BaseModel):
    """A message moved to the rejected folder, and why (CPR numbers masked)."""

    model_config = ConfigDict(frozen=True)

    uid: int
    reason: str


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, LoginError):
        return False
    return isinstance(exc, (OSError, socket.timeout, IMAPClientAbortError, imaplib.IMAP4.abort,
                            EOFError))


class ImapMailbox:
    """``ImapMailbox(ImapSettings(host=..., username=..., password=...))``."""

    def __init__(self, settings: ImapSettings, *, retry: RetryPolicy | None = None,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self.retry = retry or RetryPolicy()
        self._ssl_context = ssl_context
        self._uids: dict[str, list[int]] = {}
        self._uidvalidity: int | None = None
        self.rejected: list[RejectedMessage] = []

    @property
    def target(self) -> str:
        s = self.settings
        return f"imap://{s.host}:{s.port}/{s.folder}"

    # -- the two phases ----------------------------------------------------------------------

    def fetch_pending(self, limit: int | None = None) -> list[IncomingLetter]:
        """Letters not yet handled, oldest first, one per Message-ID; changes nothing."""
        uidvalidity, fetched = self._retrying("UID FETCH", self._fetch_raw)
        letters: dict[str, IncomingLetter] = {}
        uids: dict[str, list[int]] = {}
        bad: list[RejectedMessage] = []
        for uid in sorted(fetched):
            raw, arrived = fetched[uid]
            try:
                letter = parse_letter(raw, fallback_time=arrived)
            except MalformedLetter as problem:
                bad.append(RejectedMessage(uid=uid, reason=mask_cpr(str(problem))))
                continue
            uids.setdefault(letter.message_id, []).append(uid)
            letters.setdefault(letter.message_id, letter)
        if bad:
            self._retrying("UID MOVE", lambda: self._move(
                [r.uid for r in bad], self.settings.rejected_folder, uidvalidity))
            for rejected in bad:
                log.warning("%s: message uid %d moved to %s: %s", SYSTEM, rejected.uid,
                            self.settings.rejected_folder, rejected.reason)
        self.rejected = bad
        self._uids, self._uidvalidity = uids, uidvalidity
        ordered = sorted(letters.values(), key=lambda item: (item.received_at, item.message_id))
        return ordered[:limit] if limit is not None else ordered

    def acknowledge(self, message_id: str) -> None:
        """Move the letter (every copy) to the done folder. Safe to call twice."""
        moved = self._retrying("UID MOVE", lambda: self._acknowledge(message_id))
        log.info("%s: letter %s moved to %s (%d message(s))", SYSTEM, _short(message_id),
                 self.settings.done_folder, moved)
        self._uids.pop(message_id, None)

    def check(self) -> str:
        """Log in and count the folder (for ``casework doctor``)."""

        def run() -> str:
            with self._session() as client:
                status = client.folder_status(self.settings.folder, ["MESSAGES", "UNSEEN"])
            return (f"{self.target}: {status[b'MESSAGES']} message(s), "
                    f"{status[b'UNSEEN']} unseen")

        return self._retrying("STATUS", run)

    # -- IMAP --------------------------------------------------------------------------------

    @contextmanager
    def _session(self) -> Iterator[IMAPClient]:
        s = self.settings
        context = self._ssl_context or ssl.create_default_context()
        client = IMAPClient(s.host, port=s.port, ssl=s.security == "ssl",
                            ssl_context=context if s.security == "ssl" else None,
                            timeout=s.timeout)
        try:
            if s.security == "starttls":
                client.starttls(context)
            try:
                client.login(s.username, s.password.get_secret_value())
            except LoginError as refused:
                raise PermanentConnectorError(
                    SYSTEM, "LOGIN", self.target,
                    f"login refused for {s.username!r}: {describe(refused)}; check the "
                    "username and password (CASEWORK_IMAP_USERNAME, CASEWORK_IMAP_PASSWORD)",
                ) from None
            yield client
        finally:
            try:
                client.logout()
            except Exception:  # noqa: BLE001 - the line may already be gone
                client.shutdown() if hasattr(client, "shutdown") else None

    def _fetch_raw(self) -> tuple[int, dict[int, tuple[bytes, datetime | None]]]:
        s = self.settings
        with self._session() as client:
            selected = client.select_folder(s.folder, readonly=True)
            uidvalidity = int(selected[b"UIDVALIDITY"])
            criteria = ["UNSEEN"] if s.only_unseen else ["NOT", "DELETED"]
            uids = sorted(client.search(criteria))
            found: dict[int, tuple[bytes, datetime | None]] = {}
            for start in range(0, len(uids), FETCH_CHUNK):
                chunk = uids[start:start + FETCH_CHUNK]
                for uid, data in client.fetch(chunk, ["BODY.PEEK[]", "INTERNALDATE"]).items():
                    raw = data.get(b"BODY[]") or b""
                    arrived = data.get(b"INTERNALDATE")
                    if isinstance(arrived, datetime) and arrived.tzinfo is None:
                        arrived = arrived.replace(tzinfo=UTC)
                    found[int(uid)] = (bytes(raw), arrived)
        return uidvalidity, found

    def _acknowledge(self, message_id: str) -> int:
        with self._session() as client:
            selected = client.select_folder(self.settings.folder)
            uidvalidity = int(selected[b"UIDVALIDITY"])
            uids = self._uids.get(message_id) if uidvalidity == self._uidvalidity else None
            if uids:
                present = client.search(["UID", ",".join(str(u) for u in uids)])
                uids = [u for u in uids if u in set(present)]
            else:
                uids = list(client.search(["HEADER", "Message-ID", message_id]))
            if uids:
                self._move_in(client, uids, self.settings.done_folder)
            return len(uids)

    def _move(self, uids: list[int], folder: str, uidvalidity: int) -> None:
        with self._session() as client:
            selected = client.select_folder(self.settings.folder)
            if int(selected[b"UIDVALIDITY"]) != uidvalidity:
                log.warning("%s: UIDVALIDITY changed; not moving rejected messages now", SYSTEM)
                return
            self._move_in(client, uids, folder)

    @staticmethod
    def _move_in(client: IMAPClient, uids: list[int], folder: str) -> None:
        if not client.folder_exists(folder):
            try:
                client.create_folder(folder)
            except IMAPClientError:
                if not client.folder_exists(folder):  # created by another worker meanwhile
                    raise
        if client.has_capability("MOVE"):
            client.move(uids, folder)
        else:
            client.copy(uids, folder)
            client.add_flags(uids, [b"\\Deleted"])
            if client.has_capability("UIDPLUS"):
                client.uid_expunge(uids)
            else:
                client.expunge()

    def _retrying(self, operation: str, fn):  # type: ignore[no-untyped-def]
        try:
            return with_retries(fn, policy=self.retry, is_transient=_is_transient,
                                system=SYSTEM, operation=operation, target=self.target)
        except IMAPClientError as refused:
            raise PermanentConnectorError(SYSTEM, operation, self.target,
                                          describe(refused)) from None
