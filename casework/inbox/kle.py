"""Finding KLE subjects for the caseworker's picker: by number, by the shipped keyword list
and by meaning (the suggestion engine), so "carport" finds building subjects although no
title contains the word.

A number prefix lists those subjects in number order. Otherwise rankings are fused by
reciprocal rank, so a subject several find comes first and no list hides another:

* keyword matches: a title or a keyword of the shipped OS2KLE list containing every word she
  typed (title matches count twice, heavier keywords first);
* the suggestion engine's ranking;
* related subjects: those whose descriptions most resemble the keyword matches (one word such
  as "carport" is a keyword of building-fee and registration subjects; their neighbours are
  the building-permit subjects).

The engine ranks every subject for any text, so its answers count only when the query shares
words or word pieces with KLE (``MIN_CHAR_SIMILARITY``); otherwise the picker says that
nothing was found instead of offering ten random subjects. The engine is loaded once per
process; a lock keeps concurrent first requests from loading it twice and serialises its use
(its encoders are not documented as thread-safe).
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from casework.suggest.taxonomy import Label, load_kle

log = logging.getLogger(__name__)

_CODE_PREFIX = re.compile(r"^\d\d(\.\d{0,2}){0,2}$|^\d$")
_WORD = re.compile(r"\w+", re.UNICODE)
RRF_K = 20  # reciprocal-rank constant: small, the first places matter most
MEANING_TOP = 10
RELATED_SEEDS = 3
RELATED_TOP = 10
# Measured on the shipped KLE: nonsense ("qwxzv", "asdfgh", "xyzzy plugh") reaches at most
# 0.093 character-n-gram similarity to a subject; real one-word queries 0.15 and more.
MIN_CHAR_SIMILARITY = 0.12

_lock = threading.Lock()
_suggester: dict[str, Any] = {}


@dataclass(frozen=True)
class Hit:
    """One subject found, and why: ``number``, ``keyword`` (with the keyword) or ``meaning``."""

    code: str
    title: str
    how: str
    keyword: str | None = None

    @property
    def why_key(self) -> str:
        """The message key saying why the subject was found (``kle_how_*``)."""
        if self.how == "keyword":
            return "kle_how_keyword" if self.keyword else "kle_how_title"
        return f"kle_how_{self.how}"


@lru_cache(maxsize=1)
def _labels() -> tuple[Label, ...]:
    return load_kle().labels


@lru_cache(maxsize=1)
def subjects() -> dict[str, str]:
    """code → title of every KLE subject (loaded once per process)."""
    return {label.code: label.title for label in _labels()}


@lru_cache(maxsize=1)
def _keyword_index() -> tuple[tuple[str, str, int, str], ...]:
    """(code, lower-cased text, weight, original text) for every title and keyword."""
    rows: list[tuple[str, str, int, str]] = []
    for label in _labels():
        rows.append((label.code, label.title.lower(), 1000, label.title))
        rows.extend((label.code, kw.text.lower(), kw.weight, kw.text) for kw in label.keywords)
    return tuple(rows)


def suggester() -> Any:
    """The KLE suggestion engine, loaded on first use (thread-safe, once per process)."""
    with _lock:
        if "kle" not in _suggester:
            from casework.suggest.suggester import TaxonomySuggester

            _suggester["kle"] = TaxonomySuggester.load("kle")
        return _suggester["kle"]


def warm_up() -> None:
    """Load the engine in the background so the first search does not wait for it."""
    def load() -> None:
        try:
            suggester()
        except Exception:  # noqa: BLE001 - search still works by keyword; say why in the log
            log.exception("KLE suggestion engine could not be loaded; the picker finds "
                          "subjects by number and keyword only")

    threading.Thread(target=load, name="kle-suggester-warm-up", daemon=True).start()


def by_keyword(query: str) -> list[Hit]:
    """Subjects whose title or a keyword contains every word of the query; a title match, an
    exact keyword and heavier keywords first."""
    words = [w.lower() for w in _WORD.findall(query)]
    if not words:
        return []
    phrase = " ".join(words)
    best: dict[str, tuple[tuple[int, int, int], str]] = {}
    for code, text, weight, original in _keyword_index():
        if not all(w in text for w in words):
            continue
        exact = text == phrase or text.startswith(phrase + " ")
        rank = (int(weight == 1000), int(exact), weight)
        if code not in best or rank > best[code][0]:
            best[code] = (rank, original)
    ordered = sorted(best.items(), key=lambda item: (-item[1][0][0], -item[1][0][1],
                                                      -item[1][0][2], item[0]))
    titles = subjects()
    return [Hit(code, titles[code], "keyword", None if rank[0] else original)
            for code, (rank, original) in ordered]


def _tfidf_channels(engine: Any) -> list[Any]:
    return [c for c in engine.channels if c.name in ("word", "char")]


def _known_to_kle(engine: Any, query: str) -> bool:
    """Does the query share a word, or enough word pieces, with some subject's text?"""
    from casework.suggest.suggester import _similarity

    for channel in _tfidf_channels(engine):
        best = float(_similarity(channel.encoder.encode([query], "query"), channel.labels).max())
        if (channel.name == "word" and best > 0) or best >= MIN_CHAR_SIMILARITY:
            return True
    return False


def _related(engine: Any, seeds: list[str], top: int = RELATED_TOP) -> list[Hit]:
    """Subjects whose descriptions most resemble the seeds' (word and character TF-IDF),
    taken in turn from each seed's neighbours so one seed does not crowd out the others."""
    import numpy as np

    from casework.suggest.suggester import _similarity

    index = {label.code: i for i, label in enumerate(engine.labels)}
    rows = [index[c] for c in seeds if c in index]
    if not rows:
        return []
    total = None
    for channel in _tfidf_channels(engine):
        sims = _similarity(channel.labels[rows], channel.labels)
        total = sims if total is None else total + sims
    assert total is not None
    total[:, rows] = -np.inf
    per_seed = [[i for i in np.argsort(-row, kind="stable")[:top] if row[i] > 0]
                for row in total]
    picked: list[int] = []
    for place in range(top):
        for ranking in per_seed:
            if place < len(ranking) and ranking[place] not in picked:
                picked.append(int(ranking[place]))
    return [Hit(engine.labels[i].code, engine.labels[i].title, "related") for i in picked[:top]]


def by_meaning(query: str, seeds: list[str], top: int = MEANING_TOP
               ) -> tuple[list[Hit], list[Hit]]:
    """The suggestion engine's ranking for the query and the subjects related to the seeds
    (or to its own first answer); both empty when the query has nothing in common with KLE or
    the engine cannot load."""
    try:
        engine = suggester()
        with _lock:
            if not _known_to_kle(engine, query):
                return [], []
            ranked = engine.suggest([query], top=top, with_evidence=False)[0]
            meaning = [Hit(s.code, s.title, "meaning") for s in ranked]
            # Neighbours of what the keywords found; without a keyword, of the engine's first.
            related = _related(engine, seeds[:RELATED_SEEDS] or [h.code for h in meaning[:1]])
    except Exception:  # noqa: BLE001 - keyword search still answers; the log says why
        log.exception("KLE suggestion engine failed for a picker search")
        return [], []
    return meaning, related


def search(query: str, limit: int = 20) -> list[Hit]:
    """Subjects for the picker, best first: by number prefix, else keywords and meaning."""
    q = query.strip()
    if not q or not _WORD.search(q):
        return []
    titles = subjects()
    if _CODE_PREFIX.match(q):
        return [Hit(c, t, "number") for c, t in titles.items() if c.startswith(q)][:limit]
    keyword = by_keyword(q)[:50]
    meaning, related = by_meaning(q, [h.code for h in keyword[:RELATED_SEEDS]])
    score: dict[str, float] = {}
    found: dict[str, Hit] = {}
    in_title = [h for h in keyword if h.keyword is None]  # a title match counts twice
    for ranking in (in_title, keyword, meaning, related):
        for place, hit in enumerate(ranking):
            score[hit.code] = score.get(hit.code, 0.0) + 1.0 / (RRF_K + place)
            found.setdefault(hit.code, hit)  # a keyword hit keeps its keyword
    ordered = sorted(score, key=lambda code: (-score[code], code))
    return [found[code] for code in ordered[:limit]]
