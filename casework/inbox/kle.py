"""Searching KLE subjects (code + title) for amending a journal number."""

from __future__ import annotations

from functools import lru_cache

from casework.suggest.taxonomy import load_kle


@lru_cache(maxsize=1)
def subjects() -> dict[str, str]:
    """code → title of every KLE subject (loaded once per process)."""
    return {label.code: label.title for label in load_kle().labels}


def search(query: str, limit: int = 20) -> list[tuple[str, str]]:
    """Subjects whose code starts with, or whose title contains, the query (codes first)."""
    q = query.strip().lower()
    if not q:
        return []
    by_code = [(c, t) for c, t in subjects().items() if c.startswith(q)]
    by_title = [(c, t) for c, t in subjects().items() if q in t.lower() and not c.startswith(q)]
    return (by_code + by_title)[:limit]
