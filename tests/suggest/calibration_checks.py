"""One check for "the shown confidence means about the chance the top suggestion is right",
shared by the letter (KLE) and care-note (FSIII) calibration tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from casework.suggest.calibration import expected_calibration_error
from casework.suggest.training import ranked_codes


def assert_calibrated(suggester: Any, items: Sequence[dict[str, Any]], text_key: str, *,
                      accuracy_between: tuple[float, float], max_gap: float,
                      sure_margin: float) -> None:
    """Top-1 confidence on ``items`` (texts under ``text_key``, gold under ``code``): mean
    within ``max_gap`` of the accuracy, ECE below 0.1, and the surer half right at least
    ``sure_margin`` more often than the less sure half."""
    ranked, conf = ranked_codes(suggester, [it[text_key] for it in items], top=1)
    right = np.array([r[0] == it["code"] for r, it in zip(ranked, items, strict=True)])
    low, high = accuracy_between
    assert low < right.mean() < high  # a sample where calibration matters
    assert abs(conf.mean() - right.mean()) < max_gap, (conf.mean(), right.mean())
    assert expected_calibration_error(conf, right) < 0.1
    sure = conf >= np.median(conf)  # the confidence ranks the texts, too
    assert right[sure].mean() > right[~sure].mean() + sure_margin
