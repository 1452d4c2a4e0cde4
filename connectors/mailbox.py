"""Incoming citizen letters from a drop folder: a maildir (``new/``, ``cur/``) and/or plain
``.eml`` files, parsed with the standard library into ``IncomingLetter``.

Nothing is lost and nothing is done twice:

- Two phases. ``fetch_pending()`` reads letters without changing anything; ``acknowledge()``
  is called by the flow only after the case system has the letter. A crash in between means the
  letter comes again (pair that with idempotency keys derived from ``message_id``).
- Acknowledging appends the Message-ID to a ledger (``.processed-ids``, one id a line, fsynced)
  before tidying the file (maildir: moved to ``cur/`` with the ``S`` flag; ``.eml``: moved to
  ``processed/``). The ledger is the truth: a second delivery of a processed Message-ID is
  skipped, and a crash between ledger and move is tidied on the next fetch.
- A file that is not a usable letter is moved to ``rejected/`` next to a ``.reason.txt``,
  never dropped silently. Letters without a Message-ID get a stable one from their content.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import logging
import mimetypes
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from casework.privacy import mask_cpr

log = logging.getLogger(__name__)

LEDGER_NAME = ".processed-ids"
_BASE64_DEFECTS = ("InvalidBase64CharactersDefect", "InvalidBase64PaddingDefect",
                   "InvalidBase64LengthDefect")


class Attachment(BaseModel):
    model_config = ConfigDict(frozen=True)

    filename: str
    content_type: str
    size: int
    text: str | None = Field(default=None, repr=False)  # decoded, for text/* parts
    data: bytes = Field(repr=False)


class IncomingLetter(BaseModel):
    """One citizen letter. Personal fields stay out of ``repr`` (and so out of logs)."""

    model_config = ConfigDict(frozen=True)

    message_id: str
    sender: str = Field(repr=False)  # the address
    sender_name: str | None = Field(default=None, repr=False)
    subject: str = Field(repr=False)
    received_at: datetime
    body_text: str = Field(repr=False)
    attachments: list[Attachment]
    raw: bytes = Field(repr=False)  # the message as delivered, to file as the letter itself


class MalformedLetter(ValueError):
    """The file is not a usable letter; ``str()`` says why (CPR numbers masked)."""


class DropFolderMailbox:
    """``root`` may be a maildir, a plain folder of ``.eml`` files, or both at once."""

    def __init__(self, root: str | Path, *, ledger: str | Path | None = None) -> None:
        self.root = Path(root)
        self.ledger_path = Path(ledger) if ledger else self.root / LEDGER_NAME
        self.rejected_dir = self.root / "rejected"
        self.processed_dir = self.root / "processed"
        self._sources: dict[str, list[Path]] = {}
        self._done: set[str] | None = None  # acknowledged ids, read once per fetch
        self._lock = threading.Lock()  # work items acknowledge from several threads

    # -- the two phases ----------------------------------------------------------------------

    def fetch_pending(self, limit: int | None = None) -> list[IncomingLetter]:
        """Letters not yet acknowledged, oldest first; one per Message-ID. With ``limit``, the
        files are read oldest (by file time) first and reading stops at ``limit`` letters, so a
        large backlog is not parsed whole on every run."""
        done = self.processed_ids()
        with self._lock:
            self._done = set(done)
        letters: dict[str, IncomingLetter] = {}
        self._sources = {}
        candidates = list(self._candidate_files())
        if limit is not None:
            candidates.sort(key=lambda path: (_mtime(path), path.name))
        for path in candidates:
            if limit is not None and len(letters) >= limit:
                break
            try:
                letter = parse_letter(path.read_bytes(), fallback_time=_mtime(path))
            except MalformedLetter as problem:
                self._reject(path, str(problem))
                continue
            if letter.message_id in done:
                log.info("mailbox: skipping already processed letter %s (%s)",
                         _short(letter.message_id), path.name)
                self._tidy(path)
                continue
            self._sources.setdefault(letter.message_id, []).append(path)
            letters.setdefault(letter.message_id, letter)
        ordered = sorted(letters.values(), key=lambda item: (item.received_at, item.message_id))
        return ordered[:limit] if limit is not None else ordered

    def acknowledge(self, message_id: str) -> None:
        """Mark a letter done, durably, after the flow stored it. Safe to call twice."""
        with self._lock:
            if self._done is None:
                self._done = self.processed_ids()
            if message_id not in self._done:
                self._append_ledger(message_id)
                self._done.add(message_id)
            paths = self._sources.pop(message_id, [])
        for path in paths:
            self._tidy(path)

    def processed_ids(self) -> set[str]:
        try:
            text = self.ledger_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return set()
        lines = text.split("\n")
        # A torn last line (crash mid-append) has no newline yet: not acknowledged.
        return {line for line in lines[:-1] if line}

    # -- files -------------------------------------------------------------------------------

    def _candidate_files(self) -> Iterator[Path]:
        for sub in ("new", "cur"):
            folder = self.root / sub
            if folder.is_dir():
                for path in sorted(folder.iterdir()):
                    if path.is_file() and not path.name.startswith(".") and \
                            "S" not in _flags(path):
                        yield path
        if self.root.is_dir():
            yield from sorted(p for p in self.root.glob("*.eml") if p.is_file())

    def _tidy(self, path: Path) -> None:
        """Move a finished file aside: maildir to ``cur/`` with ``S``, ``.eml`` to processed/."""
        if not path.exists():
            return
        if path.parent.name in ("new", "cur") and path.parent.parent == self.root:
            base = path.name.split(":", 1)[0]
            flags = "".join(sorted(set(_flags(path)) | {"S"}))
            os.replace(path, self.root / "cur" / f"{base}:2,{flags}")
        else:
            self.processed_dir.mkdir(exist_ok=True)
            os.replace(path, _free_name(self.processed_dir / path.name))

    def _reject(self, path: Path, reason: str) -> None:
        self.rejected_dir.mkdir(exist_ok=True)
        target = _free_name(self.rejected_dir / path.name)
        reason_file = target.with_name(target.name + ".reason.txt")
        reason_file.write_text(f"{mask_cpr(reason)}\n(was {path.relative_to(self.root)})\n",
                               encoding="utf-8")
        os.replace(path, target)
        log.warning("mailbox: rejected %s: %s", path.name, mask_cpr(reason))

    def _append_ledger(self, message_id: str) -> None:
        if "\n" in message_id:
            raise ValueError("a Message-ID cannot contain a line break")
        new_file = not self.ledger_path.exists()
        fd = os.open(self.ledger_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (message_id + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        if new_file:
            _fsync_dir(self.ledger_path.parent)


# -- parsing ---------------------------------------------------------------------------------


def parse_letter(raw: bytes, *, fallback_time: datetime | None = None) -> IncomingLetter:
    """Parse one RFC 5322 message; ``MalformedLetter`` says why it is not a usable letter."""
    if not raw.strip():
        raise MalformedLetter("empty file")
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        return _letter(message, raw, fallback_time)
    except MalformedLetter:
        raise
    except Exception as exc:  # the email package raises many kinds on broken input
        raise MalformedLetter(f"cannot parse message: {type(exc).__name__}: {exc}") from exc


def _letter(message: EmailMessage, raw: bytes, fallback_time: datetime | None,
            ) -> IncomingLetter:
    if not message.keys():
        raise MalformedLetter("no mail headers")
    sender = message.get("From")
    addresses = getattr(sender, "addresses", ()) if sender is not None else ()
    if not addresses or not addresses[0].addr_spec or "@" not in addresses[0].addr_spec:
        raise MalformedLetter("no sender address (From header)")
    message_id = str(message.get("Message-ID") or "").strip()
    if not message_id:
        message_id = f"<sha256-{hashlib.sha256(raw).hexdigest()[:32]}@drop-folder.invalid>"
    attachments = [_attachment(part, index)
                   for index, part in enumerate(message.iter_attachments(), start=1)]
    body_text = _body_text(message)
    if not body_text.strip() and not attachments:
        raise MalformedLetter("no text and no attachments")
    return IncomingLetter(
        message_id=message_id,
        sender=addresses[0].addr_spec,
        sender_name=addresses[0].display_name or None,
        subject=str(message.get("Subject") or ""),
        received_at=_received_at(message, fallback_time),
        body_text=body_text,
        attachments=attachments,
        raw=raw,
    )


def _body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    if part is not None:
        return str(part.get_content()).strip()
    part = message.get_body(preferencelist=("html",))
    if part is not None:
        return html_to_text(str(part.get_content()))
    return ""


def _attachment(part: EmailMessage, index: int) -> Attachment:
    content_type = part.get_content_type()
    filename = part.get_filename() or \
        f"vedhaeftning-{index}{mimetypes.guess_extension(content_type) or '.bin'}"
    data = part.get_payload(decode=True) or b""
    damaged = [d for d in part.defects if type(d).__name__ in _BASE64_DEFECTS]
    if damaged:
        raise MalformedLetter(f"attachment {filename!r}: damaged base64 "
                              f"({type(damaged[0]).__name__})")
    text = str(part.get_content()) if part.get_content_maintype() == "text" else None
    return Attachment(filename=filename, content_type=content_type, size=len(data), text=text,
                      data=data)


def _received_at(message: EmailMessage, fallback: datetime | None) -> datetime:
    header = message.get("Date")
    when = getattr(header, "datetime", None) if header is not None else None
    if when is None:
        when = fallback or datetime.now(UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


class _TextOfHtml(HTMLParser):
    _BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "table", "blockquote"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in ("script", "style", "head"):
            self._skip += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head") and self._skip:
            self._skip -= 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML mail body (tags dropped, blocks on their own lines)."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    text, blank = [], False
    for line in lines:
        if line or not blank:
            text.append(line)
        blank = not line
    return "\n".join(text).strip()


# -- small helpers ---------------------------------------------------------------------------


def _flags(path: Path) -> str:
    name = path.name
    return name.split(":2,", 1)[1] if ":2," in name else ""


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def _free_name(path: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}.{n}{path.suffix}")
        n += 1
    return candidate


def _short(message_id: str) -> str:
    """Message-IDs can carry a citizen's address: log a short hash instead."""
    return "msg-" + hashlib.sha256(message_id.encode()).hexdigest()[:12]


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
