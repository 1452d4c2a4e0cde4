"""The confidence shown for a letter means about the probability that the top code is right.

Checked on letter-like texts of TRAIN subjects with another hold-out seed than the shipped
calibration was fitted on (different held-out keywords, letters and fillers), with the fast
TF-IDF engine. Not a test-set figure (``bench/suggest_accuracy.py`` has those): it catches a
calibration that drifts away from what it promises on letters.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from casework.suggest.calibration import expected_calibration_error
from casework.suggest.suggester import TaxonomySuggester
from casework.suggest.taxonomy import load_kle
from casework.suggest.training import keyword_holdout, ranked_codes


def test_confidence_on_letters_matches_accuracy(suggest_cache: Path) -> None:
    variant, items = keyword_holdout(load_kle(), "train", n_subjects=300, seed=7)
    suggester = TaxonomySuggester(variant, "tfidf", cache_dir=suggest_cache)
    ranked, conf = ranked_codes(suggester, [it["letter_real"] for it in items], top=1)
    right = np.array([r[0] == it["code"] for r, it in zip(ranked, items, strict=True)])
    assert 0.2 < right.mean() < 0.9  # a sample where calibration matters
    assert abs(conf.mean() - right.mean()) < 0.06, (conf.mean(), right.mean())
    assert expected_calibration_error(conf, right) < 0.1
    # Sure answers are right more often than unsure ones (the confidence ranks letters).
    sure = conf >= np.median(conf)
    assert right[sure].mean() > right[~sure].mean() + 0.2
