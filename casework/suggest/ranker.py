"""Second stage: a small linear re-ranker over the candidates' features, with its calibration.

The suggester turns each (text, candidate label) pair into ``FEATURES`` (z-scored channel
similarities, best keyword, group and main-group similarity, confirmed-example similarity).
``RankerModel`` scores them with one weight per feature and takes a softmax over the
candidates (a conditional logit): the weights are what "learn the mix" means, fitted by
maximum likelihood with an L2 pull towards a prior (the shipped weights when a municipality
refits on its own examples). Its top probability goes through a ``Calibrator`` fitted on
cross-fitted held-out folds, so ``confidence`` is P(top suggestion right). The shipped KLE
calibration is Platt scaling fitted on realistic pseudo-letters (``training.realistic_letter``);
a logistic calibrator that also used the margin to the runner-up, channel agreement and length
did better on pseudo-letters but worse on the hand-written letters it was checked on.

Shipped models: ``casework/data/ranker/<taxonomy>.<engine>.json`` (built by
``python -m casework.suggest.training``); a municipality's refit: ``ranker.<engine>.json`` in
its model folder (``casework suggest retrain``). Plain JSON, no pickles.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from casework.suggest import resources
from casework.suggest.calibration import Calibrator, Kind, spread_confidence

log = logging.getLogger(__name__)

FEATURES: tuple[str, ...] = (
    "char", "word", "dense", "kw", "kw_max", "group_char", "group_dense", "main_char",
    "main_dense", "general", "example", "duplicate", "starter",
)
# "starter" is "example" for the shipped starter texts (``casework.suggest.starter``): its own
# feature, so that a municipality's refit moves the weight of its own examples only. Its
# weight is the keyword-learnt "example" weight, not refitted (see ``training``).
# "duplicate" (the text is practically the same as a confirmed example of the code: character
# TF-IDF cosine ≥ DUPLICATE_SIMILARITY) is not learnt: held-out training queries are never
# duplicates. The caseworker has decided this very text, so it adds a fixed bonus that puts
# the code first.
DUPLICATE_SIMILARITY = 0.9
DUPLICATE_BONUS = 12.0
RANKER_DIR = resources.DATA_DIR / "ranker"
# Used only when no trained ranker ships for an engine: the old fixed mix.
_DEFAULT_WEIGHTS = {"char": 0.4, "word": 0.3, "dense": 0.9, "kw": 0.3, "example": 1.0,
                    "starter": 1.0}


class RankerModel(BaseModel):
    """Weights per feature + calibration; ``trained_on`` says on what, ``metrics`` how well."""

    taxonomy: str
    engine: str
    features: list[str] = Field(default_factory=lambda: list(FEATURES))
    weights: list[float]
    calibration: Calibrator = Field(default_factory=Calibrator)
    trained_on: str = ""
    metrics: dict[str, float] = Field(default_factory=dict)
    created: datetime | None = None

    @classmethod
    def default(cls, taxonomy: str, engine: str) -> RankerModel:
        return cls(taxonomy=taxonomy, engine=engine,
                   weights=[_DEFAULT_WEIGHTS.get(f, 0.0) for f in FEATURES],
                   trained_on="untrained default mix (no calibration)")

    def _w(self) -> np.ndarray:
        by_name = dict(zip(self.features, self.weights, strict=True))
        # A ranker saved before the starter examples had their own feature (a municipality's
        # older refit) weighs them like its examples, as training does; 0 would silently turn
        # them off.
        by_name.setdefault("starter", by_name.get("example", 0.0))
        return np.array([by_name.get(f, 0.0) for f in FEATURES], dtype=np.float32)

    def probabilities(self, feats: np.ndarray) -> np.ndarray:
        """Softmax over the candidates of ``feats @ weights`` ([n × k × F] → [n × k])."""
        logits = feats @ self._w() + DUPLICATE_BONUS * feats[..., FEATURES.index("duplicate")]
        logits = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def confidence(self, probs: np.ndarray) -> np.ndarray:
        """Calibrated P(right) for probabilities sorted best first (see ``spread_confidence``)."""
        return spread_confidence(probs, self.calibration)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.model_dump_json(indent=1) + "\n", encoding="utf-8")


def ranker_file(directory: Path, taxonomy: str, engine: str) -> Path:
    return directory / f"{taxonomy}.{engine}.json"


def local_ranker_file(model_dir: Path, engine: str) -> Path:
    return Path(model_dir) / f"ranker.{engine}.json"


def load_ranker(taxonomy: str, engine: str, model_dir: Path | None = None) -> RankerModel:
    """The municipality's refit if there is one, else the shipped model for the engine.

    ``http`` (an unknown embedding model) uses the hybrid model: its similarities are
    z-scored like e5's, but its calibration is only trustworthy after a local retrain.
    """
    candidates = []
    if model_dir is not None:
        candidates.append(local_ranker_file(model_dir, engine))
    shipped_engine = "hybrid" if engine == "http" else engine
    candidates.append(ranker_file(RANKER_DIR, taxonomy, shipped_engine))
    for path in candidates:
        if path.is_file():
            try:
                return RankerModel.model_validate_json(path.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise ValueError(f"{path}: not a valid ranker model: {exc}") from exc
    log.warning("no trained ranker for %s/%s: using the default mix; confidence is not "
                "calibrated", taxonomy, engine)
    return RankerModel.default(taxonomy, engine)


# --------------------------------------------------------------------------- fitting


def fit_weights(feats: np.ndarray, gold: np.ndarray, prior: np.ndarray | None = None,
                l2: float = 1.0, free: Sequence[str] | None = None) -> np.ndarray:
    """Conditional-logit weights: maximise Σ log softmax(X_i w)[gold_i] − l2·|w − prior|².

    ``feats`` [n × k × F]; ``gold`` [n] = position of the right label among the candidates
    (rows with −1, right label not among them, are left out). With ``free``, only those
    features' weights move; the others stay at ``prior``.
    """
    from scipy.optimize import minimize

    keep = gold >= 0
    x = feats[keep].astype(np.float64)
    g = gold[keep]
    w0 = np.zeros(x.shape[2]) if prior is None else np.asarray(prior, dtype=np.float64)
    rows = np.arange(len(g))

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        logits = x @ w
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        p = exp / exp.sum(axis=1, keepdims=True)
        nll = -np.log(p[rows, g] + 1e-12).sum()
        p[rows, g] -= 1.0
        grad = np.einsum("nk,nkf->f", p, x) + 2 * l2 * (w - w0)
        return float(nll + l2 * ((w - w0) ** 2).sum()), grad

    if not len(g):
        return w0
    bounds = None
    if free is not None:
        bounds = [(None, None) if name in free else (w0[i], w0[i])
                  for i, name in enumerate(FEATURES)]
    result = minimize(loss, w0, jac=True, method="L-BFGS-B", bounds=bounds)
    return np.asarray(result.x)


def fit_ranker(feats: np.ndarray, gold: np.ndarray, *, taxonomy: str, engine: str,
               trained_on: str, folds: int = 5, prior: np.ndarray | None = None,
               l2: float = 1.0, seed: int = 0, base: RankerModel | None = None,
               calibrate_on: np.ndarray | None = None, fit_on: np.ndarray | None = None,
               calibration_kind: Kind | None = None) -> RankerModel:
    """Weights on all rows; calibration on cross-fitted out-of-fold top probabilities.

    ``fit_on`` (a mask) limits the weight fit to some rows; ``calibrate_on`` limits the
    calibration to the rows that look like the texts it will see; ``calibration_kind``
    forces isotonic or Platt (default: isotonic from 200 points). With ``base``, an
    unfittable calibration (too few points) keeps the base one.
    """
    n = len(gold)
    rng = np.random.default_rng(seed)
    fold_of = rng.permutation(n) % max(2, folds)
    raw = np.zeros(n)
    correct = np.zeros(n, dtype=bool)
    fit_mask = np.ones(n, dtype=bool) if fit_on is None else np.asarray(fit_on, dtype=bool)
    for f in range(max(2, folds)):
        test = fold_of == f
        w = fit_weights(feats[~test & fit_mask], gold[~test & fit_mask], prior, l2)
        probs = _softmax(feats[test] @ w)
        top = probs.argmax(axis=1)
        raw[test] = probs.max(axis=1)
        correct[test] = top == gold[test]
    weights = fit_weights(feats[fit_mask], gold[fit_mask], prior, l2)
    if calibrate_on is not None:
        raw, correct = raw[calibrate_on], correct[calibrate_on]
    calibration = Calibrator.fit(raw, correct, fitted_on=f"{trained_on} ({folds}-fold "
                                 f"out-of-fold, n={len(raw)})", kind=calibration_kind)
    if base is not None and calibration.kind == "identity":
        calibration = base.calibration
    cal_conf = calibration(raw)
    from casework.suggest.calibration import expected_calibration_error

    metrics = {"n": float(n), "calibration_n": float(len(raw)),
               "oof_top1": round(float(correct.mean()), 4) if len(raw) else 0.0,
               "oof_ece_raw": expected_calibration_error(raw, correct),
               "in_candidates": round(float((gold >= 0).mean()), 4) if n else 0.0,
               "in_sample_ece_calibrated": expected_calibration_error(cal_conf, correct)}
    return RankerModel(taxonomy=taxonomy, engine=engine, weights=[round(float(v), 5)
                                                                   for v in weights],
                       calibration=calibration, trained_on=trained_on, metrics=metrics,
                       created=datetime.now(UTC))


def _softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)
