"""Starter examples: labelled texts every installation's KLE suggester starts with.

A new municipality has no confirmed choices yet, so the example channel (the nearest text a
caseworker filed under a subject) would be silent until its caseworkers have decided many
letters. The project ships written texts labelled with the KLE subjects a caseworker would
accept (``casework/data/training/kle_texts.jsonl``); their TRAIN part is loaded as examples
beside the municipality's own (``CASEWORK_STARTER_EXAMPLES=false`` turns them off). The
EVAL part is never loaded, so ``bench/suggest_accuracy.py`` still measures on texts the
suggester has not seen. Measured there (hybrid, held-out texts): with the starter examples
@1 0.641 against 0.626 without (262 written texts), 0.744 against 0.641 (39 hand-written
letters); on texts spread evenly over the taxonomy the gain is smallest.

They are their own ranker feature (``starter``), so a municipality's refit moves only the
weight of its own confirmed examples, and its corrections win over a starter text.
"""

from __future__ import annotations

from functools import lru_cache

TAXONOMIES = ("kle",)


def starter_examples(taxonomy: str) -> tuple[list[str], list[str]]:
    """(texts, codes) of the starter examples for ``taxonomy``; empty for other taxonomies.
    The code is the first (most fitting) accepted subject."""
    if taxonomy not in TAXONOMIES:
        return [], []
    texts, codes = _kle()
    return list(texts), list(codes)


@lru_cache(maxsize=1)
def _kle() -> tuple[tuple[str, ...], tuple[str, ...]]:
    from casework.suggest.training import written_texts

    rows = written_texts("train")
    return tuple(r["text"] for r in rows), tuple(r["accept"][0] for r in rows)


def enabled() -> bool:
    from casework.settings import get_settings

    return get_settings().starter_examples
