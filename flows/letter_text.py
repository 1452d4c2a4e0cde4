"""What the flows read out of a citizen letter's text: CPR numbers, case numbers, whether it is
a building matter or sensitive. Plain functions, shared by intake and routing."""

from __future__ import annotations

import hashlib
import re

from connectors.mailbox import IncomingLetter

# DDMMYY-SSSS, dash or space optional; day 01-31, month 01-12 (as casework.privacy masks).
_CPR = re.compile(r"(?<!\d)((?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2])\d{2})[- ]?(\d{4})(?!\d)")
CASE_NUMBER = re.compile(r"\bSAG-\d{4}-\d{4}\b")

# Health, children and social matters: a caseworker looks before the robot acts on them.
SENSITIVE = re.compile(
    r"\b(underret\w*|demens\w*|sygdom\w*|psykisk\w*|misbrug\w*|vold\w*|anbring\w*|"
    r"handicap\w*|bekymring\w*|forsømt\w*|selvmord\w*)\b",
    re.IGNORECASE,
)
BUILDING = re.compile(
    r"(byggetilladelse|byggesag|byggeansøgning|tilbygning|carport|garage|udhus|redskabsrum|"
    r"anneks|facadetegning|plantegning|situationsplan|nedrivning|lokalplan|overdækning|"
    r"udestue|kvist)",
    re.IGNORECASE,
)


def full_text(letter: IncomingLetter) -> str:
    """Subject, body and the text of text attachments: everything a caseworker would read."""
    parts = [letter.subject, letter.body_text]
    parts += [a.text for a in letter.attachments if a.text]
    return "\n".join(p for p in parts if p)


def cprs_in(text: str) -> list[str]:
    """CPR numbers in order of appearance, normalised to DDMMYY-SSSS, without repeats."""
    found: list[str] = []
    for match in _CPR.finditer(text):
        cpr = f"{match.group(1)}-{match.group(2)}"
        if cpr not in found:
            found.append(cpr)
    return found


def case_numbers_in(text: str) -> list[str]:
    return list(dict.fromkeys(CASE_NUMBER.findall(text)))


def is_building_matter(text: str) -> bool:
    return BUILDING.search(text) is not None


def is_sensitive(text: str) -> bool:
    return SENSITIVE.search(text) is not None


def letter_key(message_id: str) -> str:
    """A short, stable key for a letter (Message-IDs can carry the sender's address)."""
    return hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:24]
