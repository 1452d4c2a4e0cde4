"""Rank taxonomy codes (KLE subjects, FSIII conditions) for free text.

Each engine is a weighted set of channels (character TF-IDF, word TF-IDF, a sentence
embedding). Per text, each channel's cosine similarities to all labels are z-scored across the
labels, so channels with very different score ranges can be mixed; the mix is turned into a
confidence-like score with a softmax. Confirmed examples (see ``examples``) act as extra
documents for their code (nearest example per code): a text unusually close to a confirmed
example, compared with the other examples, lifts that code up to the example's score.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import sparse

from casework.suggest.documents import embed_doc, evidence, shared_words, tfidf_doc
from casework.suggest.encoders import (
    Encoder,
    Vectors,
    dense_encoder,
    resolve_engine,
)
from casework.suggest.label_vectors import LabelVectorStore
from casework.suggest.taxonomy import Taxonomy, load_taxonomy

log = logging.getLogger(__name__)

# Channel weights per engine. Hybrid weights and the softmax temperature were chosen on the
# keyword hold-out set built by bench/suggest_accuracy.py (not on any external test data).
ENGINE_WEIGHTS: dict[str, dict[str, float]] = {
    "tfidf": {"word": 0.5, "char": 0.5},
    "e5": {"dense": 1.0},
    "hybrid": {"char": 0.3, "dense": 0.7},
    "http": {"char": 0.3, "dense": 0.7},
}
# Softmax temperature per engine (by log-loss on the same seed-1 set); a z-score mix of several
# channels is spikier than one channel, hence the lower values.
ENGINE_TEMPERATURE: dict[str, float] = {"tfidf": 0.75, "e5": 2.0, "hybrid": 1.25, "http": 1.25}


# With this many confirmed examples, a text's similarity to one example is z-scored against its
# similarities to all examples. Texts resemble each other more than they resemble label
# documents; scoring them on the labels' scale let examples crowd out other codes (bench:
# top-1 on codes without examples fell 0.30 -> 0.27 hybrid, 0.27 -> 0.13 e5).
MIN_EXAMPLES_FOR_STATS = 20


class Suggestion(BaseModel):
    """One ranked code. ``score`` is a softmax over all codes: comparable within one text."""

    model_config = ConfigDict(frozen=True)

    code: str
    title: str
    score: float = Field(ge=0.0, le=1.0)
    evidence: list[str] = Field(default_factory=list)


@dataclass
class _Channel:
    name: str
    encoder: Encoder
    weight: float
    labels: Vectors
    examples: Vectors | None = None


def _similarity(queries: Vectors, docs: Vectors) -> np.ndarray:
    product = queries @ docs.T
    if sparse.issparse(product):
        product = product.toarray()
    return np.asarray(product, dtype=np.float32)


def softmax(values: np.ndarray, temperature: float) -> np.ndarray:
    scaled = values * temperature
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


class TaxonomySuggester:
    """Suggest codes from one taxonomy; build once, then call ``suggest`` many times."""

    def __init__(self, taxonomy: Taxonomy, engine: str = "hybrid", *,
                 dense: Encoder | None = None, cache_dir: Path | None = None,
                 weights: dict[str, float] | None = None, temperature: float | None = None,
                 example_weight: float = 1.0) -> None:
        if not taxonomy.labels:
            raise ValueError(f"taxonomy {taxonomy.name} has no labels")
        self.taxonomy = taxonomy
        self.engine = engine if dense is not None else resolve_engine(engine)
        self.temperature = temperature or ENGINE_TEMPERATURE[self.engine]
        self.example_weight = example_weight
        self.labels = list(taxonomy.labels)
        self._index = {label.code: i for i, label in enumerate(self.labels)}
        weights = weights or ENGINE_WEIGHTS[self.engine]
        self.channels: list[_Channel] = []
        store = LabelVectorStore(cache_dir if cache_dir is not None else _default_cache())
        tfidf_docs = [tfidf_doc(label) for label in self.labels]
        for analyzer in ("word", "char"):
            if weights.get(analyzer):
                enc, matrix = store.tfidf(taxonomy, analyzer, tfidf_docs)
                self.channels.append(_Channel(analyzer, enc, weights[analyzer], matrix))
        if weights.get("dense"):
            dense = dense or dense_encoder(self.engine)
            if dense is None:
                raise ValueError(f"engine {self.engine!r} has no dense encoder")
            vectors = store.vectors(taxonomy, dense, [embed_doc(lab) for lab in self.labels])
            self.channels.append(_Channel("dense", dense, weights["dense"], vectors))
        self._ex_label = np.zeros(0, dtype=np.int64)
        self._ex_texts: list[str] = []

    @classmethod
    def load(cls, name: str, engine: str = "hybrid", *, taxonomy_path: Path | None = None,
             branches: Sequence[str] | None = None, cache_dir: Path | None = None,
             model_dir: Path | None = None, use_examples: bool = True,
             dense: Encoder | None = None) -> TaxonomySuggester:
        """Shipped (or given) taxonomy plus, when retrained, its confirmed examples."""
        from casework.suggest.examples import ExampleModel

        taxonomy = load_taxonomy(name, taxonomy_path, branches)
        suggester = cls(taxonomy, engine, cache_dir=cache_dir, dense=dense)
        if use_examples:
            model = ExampleModel.load_if_present(name, model_dir)
            if model is not None:
                suggester.add_examples(model.texts, model.codes, dense_vectors=model.dense_for(
                    suggester.dense_encoder_name))
        return suggester

    @property
    def dense_encoder_name(self) -> str | None:
        return next((c.encoder.name for c in self.channels if c.name == "dense"), None)

    @property
    def example_count(self) -> int:
        return len(self._ex_texts)

    def add_examples(self, texts: Sequence[str], codes: Sequence[str],
                     dense_vectors: np.ndarray | None = None) -> int:
        """Use confirmed (text, code) pairs as extra evidence; unknown codes are skipped."""
        keep = [i for i, code in enumerate(codes) if code in self._index]
        if len(keep) < len(codes):
            log.warning("%d confirmed examples name codes not in %s; ignored",
                        len(codes) - len(keep), self.taxonomy.name)
        if not keep:
            return 0
        # Examples are stored sorted by label so per-label maxima are one reduceat.
        order = sorted(keep, key=lambda i: self._index[codes[i]])
        texts_sorted = [texts[i] for i in order]
        self._ex_texts = texts_sorted
        self._ex_label = np.array([self._index[codes[i]] for i in order], dtype=np.int64)
        for channel in self.channels:
            if channel.name == "dense" and dense_vectors is not None:
                channel.examples = np.asarray(dense_vectors, dtype=np.float32)[order]
            else:
                channel.examples = channel.encoder.encode(texts_sorted, "query")
        return len(order)

    def scores(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(mixed z-scores [texts × labels], index of the winning example per cell or -1)."""
        texts = [t if t.strip() else " " for t in texts]
        n, m = len(texts), len(self.labels)
        mixed = np.zeros((n, m), dtype=np.float32)
        has_ex = self.example_weight > 0 and len(self._ex_label) > 0
        ex_mixed = np.zeros((n, len(self._ex_label)), dtype=np.float32) if has_ex else None
        for channel in self.channels:
            queries = channel.encoder.encode(list(texts), "query")
            sims = _similarity(queries, channel.labels)
            mean = sims.mean(axis=1, keepdims=True)
            std = sims.std(axis=1, keepdims=True) + 1e-6
            mixed += channel.weight * (sims - mean) / std
            if ex_mixed is not None and channel.examples is not None:
                ex_sims = _similarity(queries, channel.examples)
                if ex_sims.shape[1] >= MIN_EXAMPLES_FOR_STATS:
                    ex_mean = ex_sims.mean(axis=1, keepdims=True)
                    ex_std = ex_sims.std(axis=1, keepdims=True) + 1e-6
                    ex_mixed += channel.weight * (ex_sims - ex_mean) / ex_std
                else:
                    ex_mixed += channel.weight * (ex_sims - mean) / std
        winner = np.full((n, m), -1, dtype=np.int64)
        if ex_mixed is not None:
            starts = np.flatnonzero(np.r_[True, np.diff(self._ex_label) != 0])
            label_ids = self._ex_label[starts]
            best = np.maximum.reduceat(ex_mixed, starts, axis=1)
            arg = _argmax_reduceat(ex_mixed, starts)
            lift = np.maximum(best - mixed[:, label_ids], 0.0)
            mixed[:, label_ids] += self.example_weight * lift
            winner[:, label_ids] = np.where(lift > 0, arg, -1)
        return mixed, winner

    def suggest(self, texts: Sequence[str], top: int = 10, *, with_evidence: bool = True
                ) -> list[list[Suggestion]]:
        """Top ``top`` codes per text, best first."""
        if not texts:
            return []
        top = max(1, min(top, len(self.labels)))
        mixed, winner = self.scores(texts)
        probs = softmax(mixed, self.temperature)
        best = np.argpartition(-mixed, top - 1, axis=1)[:, :top]
        out: list[list[Suggestion]] = []
        for row, text in enumerate(texts):
            order = best[row][np.argsort(-mixed[row, best[row]], kind="stable")]
            items = []
            for j in order:
                label = self.labels[j]
                ev: list[str] = []
                if with_evidence:
                    ev = evidence(text, label)
                    ex = winner[row, j]
                    if ex >= 0:
                        ev += [w for w in shared_words(text, self._ex_texts[ex]) if w not in ev]
                items.append(Suggestion(code=label.code, title=label.title,
                                        score=round(float(probs[row, j]), 4), evidence=ev))
            out.append(items)
        return out


def _argmax_reduceat(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Column index of the maximum within each [starts[k], starts[k+1]) block, per row."""
    ends = np.r_[starts[1:], values.shape[1]]
    out = np.empty((values.shape[0], len(starts)), dtype=np.int64)
    for k, (lo, hi) in enumerate(zip(starts, ends, strict=True)):
        out[:, k] = lo + values[:, lo:hi].argmax(axis=1)
    return out


def _default_cache() -> Path:
    from casework.settings import get_settings

    return get_settings().data_dir / "cache"
