"""Calibration: a fitted calibrator's 0.8 means about 80 % right; ECE and reliability maths."""

from __future__ import annotations

import numpy as np
import pytest

from casework.suggest.calibration import (
    Calibrator,
    expected_calibration_error,
    reliability,
    spread_confidence,
)
from casework.suggest.evaluation import score


def _overconfident(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Raw scores whose true hit rate is raw**2 (a model that claims too much)."""
    rng = np.random.default_rng(seed)
    raw = rng.uniform(0, 1, n)
    return raw, rng.uniform(0, 1, n) < raw ** 2


@pytest.mark.parametrize(("n", "kind"), [(2000, "isotonic"), (150, "platt")])
def test_fitted_calibrator_is_calibrated_on_new_data(n: int, kind: str) -> None:
    raw, right = _overconfident(n, seed=1)
    cal = Calibrator.fit(raw, right, fitted_on="synthetic")
    assert cal.kind == kind
    new_raw, new_right = _overconfident(4000, seed=2)
    before = expected_calibration_error(new_raw, new_right)
    after = expected_calibration_error(cal(new_raw), new_right)
    assert before > 0.1 and after < 0.05, (before, after)
    restored = Calibrator.model_validate_json(cal.model_dump_json())
    assert np.allclose(restored(new_raw), cal(new_raw))


def test_degenerate_outcomes_give_identity() -> None:
    cal = Calibrator.fit([0.2, 0.9] * 10, [True] * 20)
    assert cal.kind == "identity" and float(cal(0.3)) == pytest.approx(0.3)


def test_ece_and_reliability_by_hand() -> None:
    conf = [0.95, 0.95, 0.15, 0.15]
    right = [True, False, False, False]
    table = reliability(conf, right)
    assert [(b.low, b.n, b.accuracy) for b in table] == [(0.1, 2, 0.0), (0.9, 2, 0.5)]
    # bins: |0 - 0.15| and |0.5 - 0.95|, each half the texts
    assert expected_calibration_error(conf, right) == pytest.approx(0.3)


def test_spread_confidence_keeps_order_and_total() -> None:
    probs = np.array([[0.5, 0.3, 0.2], [0.9, 0.05, 0.05]])
    cal = Calibrator(kind="platt", a=1.0, b=-1.0)
    conf = spread_confidence(probs, cal)
    assert np.all(np.diff(conf, axis=1) <= 0)
    assert np.all(conf.sum(axis=1) <= 1.0 + 1e-9)
    assert conf[0, 0] == pytest.approx(float(cal(0.5)))


def test_score_accepts_lists_and_group_wildcards() -> None:
    ranked = [["32.06.04", "02.34.02"], ["02.34.24", "02.34.02"], ["01.01.01"]]
    report = score(ranked, [0.9, 0.4, 0.2], [["32.06.*"], ["02.34.02"], ["99.99.99"]], ks=(1, 3))
    assert report.accuracy == {"1": pytest.approx(1 / 3, abs=1e-3), "3": pytest.approx(2 / 3,
                                                                                       abs=1e-3)}
    assert report.n == 3 and "ECE" in report.to_text()


def test_ece_noise_floor_tells_sampling_noise_from_miscalibration() -> None:
    """On a few dozen texts a perfectly calibrated model still shows an ECE well above 0.05;
    the floor says how much, shrinks with more texts, and a miscalibrated model lies above
    it."""
    from casework.suggest.calibration import ece_if_calibrated

    rng = np.random.default_rng(7)
    conf = rng.uniform(0.3, 0.9, 39)
    floor, p95 = ece_if_calibrated(conf)
    assert 0.05 < floor < p95 < 0.3
    big_floor, _ = ece_if_calibrated(rng.uniform(0.3, 0.9, 3900))
    assert big_floor < floor / 4  # noise falls like 1/sqrt(n)
    # Outcomes drawn from the confidences: calibrated, so within the floor most of the time.
    inside = sum(expected_calibration_error(conf, rng.random(39) < conf) <= p95
                 for _ in range(200))
    assert inside >= 180
    # The same confidences when the model is right only half as often: far above the floor.
    assert expected_calibration_error(conf, rng.random(39) < conf / 2) > p95
    assert ece_if_calibrated([]) == (0.0, 0.0)


def test_report_prints_the_noise_floor() -> None:
    report = score([["a"], ["b"], ["c"]], [0.9, 0.8, 0.4], [["a"], ["x"], ["c"]])
    assert 0 < report.ece_if_calibrated <= report.ece_if_calibrated_p95
    assert "perfectly calibrated model would show" in report.to_text()
