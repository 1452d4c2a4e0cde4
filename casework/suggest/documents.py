"""How a taxonomy label becomes text for each encoder, and the words that explain a match.

Kept apart from the suggester because the recipe decides what the shipped label embeddings
mean: changing a document changes its hash, so its embedding is recomputed (see
``label_vectors``) instead of silently mismatching.
"""

from __future__ import annotations

import re

import numpy as np

from casework.suggest.encoders import STOPWORDS as ENCODER_STOPWORDS
from casework.suggest.taxonomy import Keyword, Label

# Short system codes ("dp 313", "ok01", "in908m_2015_04", "A3.017.01"): exact-match gold for
# TF-IDF, noise for a sentence embedding.
_CODE_LIKE = re.compile(r"^[^\W\d_]{0,3}[\s._-]?\d[\w.\-/ ]*$")
_WORD = re.compile(r"\w+")
EMBED_DOC_MAX_CHARS = 900
STOPWORDS = ENCODER_STOPWORDS | {"almindelighed", "øvrige"}


def is_code_like(text: str) -> bool:
    return bool(_CODE_LIKE.match(text.strip()))


def repeat_for_weight(weight: int) -> int:
    """KLE weights run 0..10000 but mostly 5; three steps are enough to rank keywords."""
    if weight <= 5:
        return 1
    if weight <= 50:
        return 2
    return 3


def ranked_keywords(label: Label) -> list[Keyword]:
    """Keywords by weight (heaviest first), file order within a weight."""
    return sorted(label.keywords, key=lambda k: -repeat_for_weight(k.weight))


def tfidf_doc(label: Label) -> str:
    """Title twice, group title once, keywords repeated by weight (codes once), description."""
    parts = [label.title, label.title]
    if label.group_title and label.group_title != label.title:
        parts.append(label.group_title)
    for kw in label.keywords:
        # System codes carry weight 1000 in KLE; repeating them would drown the real words.
        parts.extend([kw.text] * (1 if is_code_like(kw.text) else repeat_for_weight(kw.weight)))
    if label.description:
        parts.append(label.description)
    return " ; ".join(parts)


def embed_doc(label: Label, max_chars: int = EMBED_DOC_MAX_CHARS) -> str:
    """Natural-ish text for a sentence encoder: title (group). description. top keywords."""
    head = label.title
    if label.group_title and label.group_title != label.title:
        head += f" ({label.group_title})"
    parts = [head + "."]
    if label.description:
        parts.append(label.description)
    words = [k.text for k in ranked_keywords(label) if not is_code_like(k.text)]
    if words:
        parts.append(", ".join(words))
    return " ".join(parts)[:max_chars]


def _occurs_at_word_start(needle: str, haystack: str) -> bool:
    start = haystack.find(needle)
    while start >= 0:
        if start == 0 or not haystack[start - 1].isalnum():
            return True
        start = haystack.find(needle, start + 1)
    return False


def evidence(text: str, label: Label, limit: int = 6) -> list[str]:
    """Keywords and title words of ``label`` found in ``text`` (compounds count: a keyword at
    the start of a longer word, e.g. 'boligstøtte' in 'boligstøttesagen')."""
    low = " ".join(text.lower().split())
    found: list[str] = []
    seen: set[str] = set()

    def add(word: str) -> None:
        key = word.lower()
        if key not in seen:
            seen.add(key)
            found.append(word)

    for kw in ranked_keywords(label):
        needle = kw.text.lower()
        if len(needle) >= 3 and _occurs_at_word_start(needle, low):
            add(kw.text)
            if len(found) >= limit:
                return found
    tokens = {t for t in _WORD.findall(low) if len(t) >= 4}
    for word in _WORD.findall(f"{label.title} {label.group_title}"):
        w = word.lower()
        if len(w) < 4 or w in STOPWORDS:
            continue
        stem = w[: max(4, len(w) - 2)]
        if any(t.startswith(stem) or (len(stem) >= 6 and stem in t) for t in tokens):
            add(word)
            if len(found) >= limit:
                break
    return found


def shared_words(text: str, other: str, limit: int = 4) -> list[str]:
    """Content words two texts share (to explain a match with a confirmed example)."""
    other_tokens = {t for t in _WORD.findall(other.lower()) if len(t) >= 4}
    out: list[str] = []
    for t in _WORD.findall(text.lower()):
        if len(t) >= 4 and t not in STOPWORDS and t in other_tokens and t not in out:
            out.append(t)
            if len(out) >= limit:
                break
    return out


def keyword_docs(labels: list[Label]) -> tuple[list[str], np.ndarray]:
    """Each label's title, keywords and description as separate short documents, and the
    label index owning each (sorted by label; every label has at least its title).

    Scored one by one, the best single keyword is not diluted by the other thirty keywords of
    a subject: "carport" matches the keyword "carport" fully instead of 1/30 of a document.
    """
    texts: list[str] = []
    owner: list[int] = []
    for i, label in enumerate(labels):
        seen: set[str] = set()
        for text in (label.title, *(k.text for k in label.keywords), label.description):
            key = text.strip().lower()
            if key and key not in seen:
                seen.add(key)
                texts.append(text.strip())
                owner.append(i)
    return texts, np.asarray(owner, dtype=np.int64)
