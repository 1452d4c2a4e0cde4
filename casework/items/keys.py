"""Idempotency keys from an item's source: the same letter or case state is the same item.

Keys may name a real case id or a Message-ID; they stay in our database (``work_items.key``)
and are never shown in logs or Prefect: outside, an item is its id and its case pseudonym.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

MAX_KEY = 300


def message_key(message_id: str) -> str:
    """A letter: its Message-ID (trimmed of angle brackets and space)."""
    cleaned = message_id.strip().strip("<>").strip()
    if not cleaned:
        raise ValueError("a letter without a Message-ID has no key; give it one from its source")
    return _bounded(f"message:{cleaned}")


def case_key(case_id: str, *, documents: Iterable[str] | None = None) -> str:
    """A case, optionally in the state given by its documents' digests (order does not matter):
    a case whose documents change becomes a new item for a robot that reads them."""
    if documents is None:
        return _bounded(f"case:{case_id}")
    digest = hashlib.sha256("\n".join(sorted(documents)).encode()).hexdigest()[:16]
    return _bounded(f"case:{case_id}:docs:{digest}")


def _bounded(key: str) -> str:
    if len(key) <= MAX_KEY:
        return key
    return key[: MAX_KEY - 17] + ":" + hashlib.sha256(key.encode()).hexdigest()[:16]
