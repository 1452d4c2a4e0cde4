"""The confidence shown for a letter means about the probability that the top code is right.

Checked on letter-like texts of TRAIN subjects with another hold-out seed than the shipped
calibration was fitted on (different held-out keywords, letters and fillers), with the fast
TF-IDF engine. Not a test-set figure (``bench/suggest_accuracy.py`` has those): it catches a
calibration that drifts away from what it promises on letters.
"""

from __future__ import annotations

from pathlib import Path

from calibration_checks import assert_calibrated

from casework.suggest.suggester import TaxonomySuggester
from casework.suggest.taxonomy import load_kle
from casework.suggest.training import keyword_holdout


def test_confidence_on_letters_matches_accuracy(suggest_cache: Path) -> None:
    variant, items = keyword_holdout(load_kle(), "train", n_subjects=300, seed=7)
    suggester = TaxonomySuggester(variant, "tfidf", cache_dir=suggest_cache)
    assert_calibrated(suggester, items, "letter_real", accuracy_between=(0.2, 0.9),
                      max_gap=0.06, sure_margin=0.2)
