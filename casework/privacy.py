"""Personal data protection: pseudonymised case references and CPR masking.

Case ids are replaced by a keyed hash (HMAC-SHA256) before they reach the ledger, audit log,
logs or artifacts. The same key gives the same reference, so a case can still be looked up
(``pseudonymise(case_id)``) by someone who holds the key, but not reversed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
from functools import lru_cache
from pathlib import Path

from casework.settings import get_settings

# Danish CPR: DDMMYY-SSSS (dash or space optional). Day 01–31, month 01–12.
_CPR = re.compile(r"(?<!\d)(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2])\d{2}[- ]?\d{4}(?!\d)")
CPR_MASK = "XXXXXX-XXXX"


def mask_cpr(text: str) -> str:
    """Replace anything shaped like a CPR number by a fixed mask."""
    return _CPR.sub(CPR_MASK, text)


def contains_cpr(text: str) -> bool:
    return _CPR.search(text) is not None


# Case numbers as the case system writes them (SAG-YYYY-NNNN; flows.letter_text reads the same).
_CASE_NUMBER = re.compile(r"\bSAG-\d{4}-\d{4}\b")


def mask_personal(text: str) -> str:
    """CPR numbers masked and case numbers replaced by their pseudonym: for text that leaves our
    database (Prefect's logs and state messages) and may quote a URL or an error."""
    text = mask_cpr(text)
    if "SAG-" not in text:
        return text
    return _CASE_NUMBER.sub(lambda m: pseudonymise(m.group(0)), text)


def _key_file(data_dir: Path) -> Path:
    return data_dir / "pseudonym.key"


def _load_or_create_key(data_dir: Path) -> bytes:
    path = _key_file(data_dir)
    if path.exists():
        return path.read_bytes().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    # Create exclusively so two processes starting together agree on one key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


@lru_cache(maxsize=4)
def _key_for(secret: str | None, data_dir: Path) -> bytes:
    return secret.encode() if secret else _load_or_create_key(data_dir)


def pseudonym_key() -> bytes:
    settings = get_settings()
    secret = settings.pseudonym_key.get_secret_value() if settings.pseudonym_key else None
    return _key_for(secret, settings.data_dir.resolve())


def pseudonymise(case_id: str) -> str:
    """Stable, non-reversible reference for a case id (``c_`` + 24 hex characters)."""
    digest = hmac.new(pseudonym_key(), case_id.encode(), hashlib.sha256).hexdigest()
    return "c_" + digest[:24]


class _MaskingRecordFactory:
    """Wraps the log record factory so every record, from any library, is masked once."""

    def __init__(self, inner):  # type: ignore[no-untyped-def]
        self.inner = inner

    def __call__(self, *args, **kwargs) -> logging.LogRecord:  # type: ignore[no-untyped-def]
        record = self.inner(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is logging's problem, not ours
            return record
        if contains_cpr(message):
            record.msg, record.args = mask_cpr(message), None
        return record


def install_log_masking() -> None:
    """Mask CPR numbers in all log records of this process (idempotent)."""
    current = logging.getLogRecordFactory()
    if not isinstance(current, _MaskingRecordFactory):
        logging.setLogRecordFactory(_MaskingRecordFactory(current))
