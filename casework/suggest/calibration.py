"""Turn raw ranking scores into probabilities that a suggestion is right, and measure how well.

A policy threshold ("act alone when confidence ≥ 0.8") only means something when 0.8 means
"right about 80 % of the time". ``Calibrator`` maps a raw score (the ranker's top probability,
or the router's top class probability) to that probability. It is fitted on held-out
predictions (cross-fitted folds), never on the texts it is later judged on:

* isotonic regression (monotone step function, needs a few hundred points), or
* Platt scaling (logistic on the logit of the score; two numbers, fine for small sets).

The state is plain JSON (kind + numbers), stored next to the model it belongs to.
``reliability`` and ``expected_calibration_error`` are what ``casework suggest evaluate`` and
``bench/suggest_accuracy.py`` print.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

Kind = Literal["isotonic", "platt", "identity"]
ISOTONIC_MIN_POINTS = 200  # below this, a two-parameter Platt fit is steadier than isotonic
_EPS = 1e-4


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


class Calibrator(BaseModel):
    """Monotone map raw score → P(right). ``fitted_on`` says what it was fitted on."""

    kind: Kind = "identity"
    x: list[float] = Field(default_factory=list, description="Isotonic knots (raw scores).")
    y: list[float] = Field(default_factory=list, description="Isotonic values at the knots.")
    a: float = 1.0
    b: float = 0.0
    n: int = 0
    fitted_on: str = ""

    @classmethod
    def fit(cls, raw: Sequence[float], correct: Sequence[bool], fitted_on: str = "",
            kind: Kind | None = None) -> Calibrator:
        """Fit on held-out (raw score, was it right) pairs; isotonic when there are enough."""
        r = np.asarray(raw, dtype=np.float64)
        c = np.asarray(correct, dtype=np.float64)
        if len(r) != len(c):
            raise ValueError("raw scores and outcomes differ in length")
        if len(r) < 10 or c.min() == c.max():
            return cls(kind="identity", n=len(r), fitted_on=fitted_on)
        kind = kind or ("isotonic" if len(r) >= ISOTONIC_MIN_POINTS else "platt")
        if kind == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
            iso.fit(r, c)
            xs = np.asarray(iso.X_thresholds_, dtype=np.float64)
            ys = np.asarray(iso.y_thresholds_, dtype=np.float64)
            # Shrink the extreme steps a little towards the overall rate: a step fitted on a
            # handful of points at the top would otherwise claim 100 %.
            ys = (ys * len(r) + c.mean()) / (len(r) + 1)
            return cls(kind="isotonic", x=[round(float(v), 6) for v in xs],
                       y=[round(float(v), 6) for v in ys], n=len(r), fitted_on=fitted_on)
        from sklearn.linear_model import LogisticRegression

        lr = LogisticRegression(C=100.0)
        lr.fit(_logit(r).reshape(-1, 1), c.astype(int))
        return cls(kind="platt", a=round(float(lr.coef_[0, 0]), 6),
                   b=round(float(lr.intercept_[0]), 6), n=len(r), fitted_on=fitted_on)

    def __call__(self, raw: np.ndarray | Sequence[float] | float) -> np.ndarray:
        r = np.asarray(raw, dtype=np.float64)
        if self.kind == "isotonic" and self.x:
            return np.interp(r, self.x, self.y)
        if self.kind == "platt":
            return 1.0 / (1.0 + np.exp(-(self.a * _logit(r) + self.b)))
        return np.clip(r, 0.0, 1.0)


class Bin(BaseModel):
    """One row of a reliability table."""

    low: float
    high: float
    n: int
    mean_confidence: float
    accuracy: float


def reliability(confidence: Sequence[float], correct: Sequence[bool], bins: int = 10
                ) -> list[Bin]:
    """Equal-width confidence bins with their mean confidence and observed accuracy."""
    conf = np.asarray(confidence, dtype=np.float64)
    ok = np.asarray(correct, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    out = []
    for b in range(bins):
        sel = idx == b
        if sel.any():
            out.append(Bin(low=round(float(edges[b]), 2), high=round(float(edges[b + 1]), 2),
                           n=int(sel.sum()), mean_confidence=round(float(conf[sel].mean()), 4),
                           accuracy=round(float(ok[sel].mean()), 4)))
    return out


def expected_calibration_error(confidence: Sequence[float], correct: Sequence[bool],
                               bins: int = 10) -> float:
    """Bin-weighted mean |accuracy − confidence| over equal-width bins (the usual ECE)."""
    n = len(confidence)
    if n == 0:
        return 0.0
    table = reliability(confidence, correct, bins)
    return round(sum(b.n * abs(b.accuracy - b.mean_confidence) for b in table) / n, 4)


def ece_if_calibrated(confidence: Sequence[float], bins: int = 10, draws: int = 2000,
                       seed: int = 0) -> tuple[float, float]:
    """The ECE a perfectly calibrated model would show on this many texts: (mean, 95th
    percentile) over ``draws`` simulations in which each text is right with probability
    equal to its confidence.

    Why: on a few dozen texts the ECE is mostly sampling noise (39 texts at a confidence
    around 0.6 give about 0.09 even when every confidence is exact), so a measured ECE says
    something about calibration only when it lies above this floor.
    """
    conf = np.clip(np.asarray(confidence, dtype=np.float64), 0.0, 1.0)
    n = len(conf)
    if n == 0:
        return 0.0, 0.0
    rng = np.random.default_rng(seed)
    edges = np.linspace(0.0, 1.0, bins + 1)  # the bins of ``reliability``
    index = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    conf_sum = np.bincount(index, weights=conf, minlength=bins)
    eces = np.empty(draws)
    chunk = max(1, 2_000_000 // n)  # about 2 MB of outcomes at a time, whatever n is
    for start in range(0, draws, chunk):
        stop = min(draws, start + chunk)
        outcomes = rng.random((stop - start, n)) < conf
        right = np.stack([outcomes[:, index == b].sum(axis=1) for b in range(bins)], axis=1)
        eces[start:stop] = np.abs(right - conf_sum).sum(axis=1) / n
    return round(float(eces.mean()), 4), round(float(np.quantile(eces, 0.95)), 4)


def spread_confidence(probs: np.ndarray, calibrator: Calibrator) -> np.ndarray:
    """Calibrated confidence for probabilities sorted best first ([n × k]): the first column
    through ``calibrator`` (measured P(top right)); the others share the remaining probability
    in proportion to their raw probabilities (not separately calibrated), never above the
    first."""
    out = np.zeros(probs.shape, dtype=np.float64)
    if probs.size == 0:
        return out
    top = np.clip(calibrator(probs[:, 0]), 0.0, 1.0)
    out[:, 0] = top
    rest = 1.0 - probs[:, 0]
    scale = np.divide(1.0 - top, rest, out=np.zeros_like(rest, dtype=np.float64),
                      where=rest > 1e-9)
    # Capped at the first one's: an alternative never looks surer than the top suggestion.
    out[:, 1:] = np.minimum(np.clip(probs[:, 1:] * scale[:, np.newaxis], 0.0, 1.0),
                            top[:, np.newaxis])
    return out
