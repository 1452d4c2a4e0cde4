"""Rank taxonomy codes (KLE subjects, FSIII conditions) for free text, with a calibrated
confidence.

Two stages:

1. **Channels** score every label: character and word TF-IDF against the label document
   (title, group title, weighted keywords), a sentence embedding (e5) against the label's
   embedded document, the best single keyword (character TF-IDF per keyword, so one exact
   keyword is not diluted by thirty others), the label's group and main group (centroids of
   their subjects: KLE main group → group → subject) and the nearest confirmed example. Each
   channel is z-scored across labels so channels with different ranges can be mixed. The 50
   best labels by an equal-weight mix are the candidates.
2. **Ranker** (``casework.suggest.ranker``): a linear model over those features, trained on
   keyword hold-out queries and confirmed examples (never on test data), gives a softmax over
   the candidates; its top probability is mapped by a ``Calibrator`` to the probability that
   the top suggestion is right.

API: ``TaxonomySuggester.suggest(texts, top) -> list[list[Suggestion]]``, best first.

* ``Suggestion.confidence`` is the **calibrated probability that this code is the right
  one**. For the first suggestion it is the measured P(top suggestion right) from the
  calibration (a policy threshold of 0.8 means about 80 % right on data like the calibration
  data); the alternatives share the remaining probability in proportion to the ranker's
  probabilities (not separately calibrated). Use ``ranked[0].confidence`` for policy decisions.
* ``Suggestion.score`` is the ranker's uncalibrated softmax probability among the candidates:
  use it only for ordering and display of relative strength.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import sparse

from casework.suggest.documents import embed_doc, evidence, keyword_docs, shared_words, tfidf_doc
from casework.suggest.encoders import (
    Encoder,
    TfidfEncoder,
    Vectors,
    dense_encoder,
    resolve_engine,
)
from casework.suggest.label_vectors import LabelVectorStore
from casework.suggest.ranker import DUPLICATE_SIMILARITY, FEATURES, RankerModel, load_ranker
from casework.suggest.taxonomy import Taxonomy, load_taxonomy

log = logging.getLogger(__name__)

# Which encoder channels each engine runs. TF-IDF channels are cheap, so every engine has them.
ENGINE_CHANNELS: dict[str, tuple[str, ...]] = {
    "tfidf": ("word", "char"),
    "e5": ("char", "dense"),
    "hybrid": ("word", "char", "dense"),
    "http": ("word", "char", "dense"),
}
CANDIDATES = 50
# A text's similarity to a confirmed example is put on the scale of its similarities to the
# label documents. Texts resemble each other more than they resemble label documents, so this
# feature runs high; its learnt weight (refitted with background letters of other codes, see
# ``examples.refit_ranker``) keeps examples from crowding out other codes.
_FEATURE_INDEX = {name: i for i, name in enumerate(FEATURES)}


class Suggestion(BaseModel):
    """One ranked code; see the module docstring for ``confidence`` versus ``score``."""

    model_config = ConfigDict(frozen=True)

    code: str
    title: str
    score: float = Field(ge=0.0, le=1.0, description="Ranker probability (uncalibrated).")
    confidence: float = Field(ge=0.0, le=1.0,
                              description="Calibrated probability that this code is right.")
    evidence: list[str] = Field(default_factory=list)


@dataclass
class _Channel:
    name: str
    encoder: Encoder
    labels: Vectors
    # Example vectors per example set ("example": the municipality's confirmed choices,
    # "starter": the shipped starter texts), rows sorted like the set's labels.
    examples: dict[str, Vectors] = field(default_factory=dict)


@dataclass
class _ExampleSet:
    """Labelled texts used as evidence; ``label`` sorted ascending (label indexes)."""

    texts: list[str] = field(default_factory=list)
    label: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def _similarity(queries: Vectors, docs: Vectors) -> np.ndarray:
    product = queries @ docs.T
    if sparse.issparse(product):
        product = product.toarray()
    return np.asarray(product, dtype=np.float32)


def _zscore(values: np.ndarray) -> np.ndarray:
    mean = values.mean(axis=1, keepdims=True)
    std = values.std(axis=1, keepdims=True) + 1e-6
    return (values - mean) / std


def softmax(values: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    scaled = values * temperature
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def main_group(code: str, group: str) -> str:
    """KLE ``02.34.02`` → ``02``; FSIII ``I9.8`` (group ``I9``) → ``I``."""
    if re.match(r"^\d\d\.\d\d\.\d\d$", code):
        return code[:2]
    match = re.match(r"^[A-Za-z]+", group or code)
    return match.group(0) if match else group


def _centroids(rows: Vectors, owner: np.ndarray, count: int) -> Vectors:
    """L2-normalised mean row per owner (group centroids from subject vectors)."""
    pick = sparse.csr_matrix((np.ones(len(owner), dtype=np.float32),
                              (owner, np.arange(len(owner)))), shape=(count, len(owner)))
    summed = pick @ rows
    if sparse.issparse(summed):
        summed = sparse.csr_matrix(summed)
        norms = np.sqrt(np.asarray(summed.multiply(summed).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sparse.diags((1.0 / norms).astype(np.float32)) @ summed
    norms = np.linalg.norm(summed, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.asarray(summed / norms, dtype=np.float32)


def _max_by_owner(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return np.maximum.reduceat(values, starts, axis=1)


class TaxonomySuggester:
    """Suggest codes from one taxonomy; build once, then call ``suggest`` many times."""

    def __init__(self, taxonomy: Taxonomy, engine: str = "hybrid", *,
                 dense: Encoder | None = None, cache_dir: Path | None = None,
                 ranker: RankerModel | None = None, model_dir: Path | None = None) -> None:
        if not taxonomy.labels:
            raise ValueError(f"taxonomy {taxonomy.name} has no labels")
        self.taxonomy = taxonomy
        self.engine = engine if dense is not None else resolve_engine(engine)
        self.labels = list(taxonomy.labels)
        self._index = {label.code: i for i, label in enumerate(self.labels)}
        self.channels: list[_Channel] = []
        store = LabelVectorStore(cache_dir if cache_dir is not None else _default_cache())
        self._store = store
        wanted = ENGINE_CHANNELS[self.engine]
        tfidf_docs = [tfidf_doc(label) for label in self.labels]
        char_encoder: TfidfEncoder | None = None
        for analyzer in ("word", "char"):
            enc, matrix = store.tfidf(taxonomy, analyzer, tfidf_docs)
            if analyzer == "char":
                char_encoder = enc
            if analyzer in wanted:
                self.channels.append(_Channel(analyzer, enc, matrix))
        if "dense" in wanted:
            dense = dense or dense_encoder(self.engine)
            if dense is None:
                raise ValueError(f"engine {self.engine!r} has no dense encoder")
            vectors = store.vectors(taxonomy, dense, [embed_doc(lab) for lab in self.labels])
            self.channels.append(_Channel("dense", dense, vectors))
        # Keyword channel: every keyword (and the title) as its own short document.
        assert isinstance(char_encoder, TfidfEncoder)
        self._kw_encoder = char_encoder
        kw_texts, kw_owner = keyword_docs(self.labels)
        self._kw_matrix = store.keyword_matrix(taxonomy, char_encoder, kw_texts, tfidf_docs)
        self._kw_starts = np.flatnonzero(np.r_[True, np.diff(kw_owner) != 0])
        # Hierarchy: group and main group of each label, as indexes.
        groups = [lab.group or lab.code for lab in self.labels]
        mains = [main_group(lab.code, lab.group) for lab in self.labels]
        self._group_of = _codes_to_index(groups)
        self._main_of = _codes_to_index(mains)
        self._general = np.array([lab.code.endswith(".00") for lab in self.labels],
                                 dtype=np.float32)
        self._centroids: dict[tuple[str, str], Vectors] = {}
        for channel in self.channels:
            if channel.name in ("char", "dense"):
                for level, owner in (("group", self._group_of), ("main", self._main_of)):
                    self._centroids[(level, channel.name)] = _centroids(
                        channel.labels, owner, int(owner.max()) + 1)
        self.ranker = ranker or load_ranker(taxonomy.name, self.engine, model_dir)
        self._sets = {"example": _ExampleSet(), "starter": _ExampleSet()}

    @classmethod
    def load(cls, name: str, engine: str = "hybrid", *, taxonomy_path: Path | None = None,
             branches: Sequence[str] | None = None, cache_dir: Path | None = None,
             model_dir: Path | None = None, use_examples: bool = True,
             dense: Encoder | None = None, municipality: str | None = None,
             starter: bool | None = None) -> TaxonomySuggester:
        """Shipped (or given) taxonomy plus, when retrained, the municipality's confirmed
        examples and its refitted ranker and calibration (from ``model_dir``, default
        ``<data_dir>/models/suggest[/<municipality>]/<taxonomy>``), and the project's starter
        examples (``casework.suggest.starter``; ``starter=None`` follows the setting).
        ``use_examples=False`` loads no examples at all, starter examples included."""
        from casework.suggest import starter as starters
        from casework.suggest.examples import ExampleModel

        taxonomy = load_taxonomy(name, taxonomy_path, branches)
        folder = Path(model_dir) if model_dir else ExampleModel.default_dir(name, municipality)
        suggester = cls(taxonomy, engine, cache_dir=cache_dir, dense=dense,
                        model_dir=folder if use_examples else None)
        if use_examples and (starters.enabled() if starter is None else starter):
            suggester.add_starter_examples(*starters.starter_examples(name))
        if use_examples:
            model = ExampleModel.load_if_present(name, folder)
            if model is not None:
                suggester.add_examples(model.texts, model.codes, dense_vectors=model.dense_for(
                    suggester.dense_encoder_name))
        return suggester

    def starter_vectors(self, texts: Sequence[str]) -> np.ndarray | None:
        """Dense vectors of the starter examples, embedded once and cached like the label
        documents (None without a dense channel)."""
        channel = next((c for c in self.channels if c.name == "dense"), None)
        if channel is None or not texts:
            return None
        return self._store.text_vectors(f"{self.taxonomy.name}-starter", channel.encoder,
                                        list(texts), role="query",
                                        what=f"{self.taxonomy.name} starter examples")

    @property
    def dense_encoder_name(self) -> str | None:
        return next((c.encoder.name for c in self.channels if c.name == "dense"), None)

    @property
    def example_count(self) -> int:
        """Confirmed examples loaded (the municipality's), without the starter examples."""
        return len(self._sets["example"].texts)

    @property
    def starter_count(self) -> int:
        return len(self._sets["starter"].texts)

    def add_examples(self, texts: Sequence[str], codes: Sequence[str],
                     dense_vectors: np.ndarray | None = None) -> int:
        """Use confirmed (text, code) pairs as extra evidence (replacing earlier ones);
        unknown codes are skipped."""
        return self._set_examples("example", texts, codes, dense_vectors)

    def add_starter_examples(self, texts: Sequence[str], codes: Sequence[str],
                             dense_vectors: np.ndarray | None = None) -> int:
        """The shipped starter texts as evidence of their own (feature ``starter``, whose
        weight a municipality's refit leaves alone), replacing earlier ones. Their dense
        vectors come from the shipped/cached store unless given."""
        if dense_vectors is None:
            dense_vectors = self.starter_vectors(texts)
        return self._set_examples("starter", texts, codes, dense_vectors)

    def _set_examples(self, which: str, texts: Sequence[str], codes: Sequence[str],
                      dense_vectors: np.ndarray | None) -> int:
        keep = [i for i, code in enumerate(codes) if code in self._index]
        if len(keep) < len(codes):
            log.warning("%d %s examples name codes not in %s; ignored",
                        len(codes) - len(keep), which, self.taxonomy.name)
        order = sorted(keep, key=lambda i: self._index[codes[i]])
        chosen = [texts[i] for i in order]
        self._sets[which] = _ExampleSet(
            chosen, np.array([self._index[codes[i]] for i in order], dtype=np.int64))
        for channel in self.channels:
            if not order:
                channel.examples.pop(which, None)
            elif channel.name == "dense" and dense_vectors is not None:
                channel.examples[which] = np.asarray(dense_vectors, dtype=np.float32)[order]
            else:
                channel.examples[which] = channel.encoder.encode(chosen, "query")
        return len(order)

    # ----------------------------------------------------------------------- features

    def features(self, texts: Sequence[str], candidates: int = CANDIDATES
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(candidate label indexes [n × k], features [n × k × F], winning example index per
        candidate or -1 [n × k]); candidates sorted by the equal-weight mix."""
        texts = [t if t.strip() else " " for t in texts]
        n, m = len(texts), len(self.labels)
        full = np.zeros((len(FEATURES), n, m), dtype=np.float32)
        mixed = {w: np.zeros((n, len(st.label)), dtype=np.float32) for w, st in self._sets.items()}
        used = dict.fromkeys(self._sets, 0)
        ex_char = None
        for channel in self.channels:
            queries = channel.encoder.encode(list(texts), "query")
            sims = _similarity(queries, channel.labels)
            z = _zscore(sims)
            full[_FEATURE_INDEX[channel.name]] = z
            for level in ("group", "main"):
                cents = self._centroids.get((level, channel.name))
                if cents is not None:
                    owner = self._group_of if level == "group" else self._main_of
                    full[_FEATURE_INDEX[f"{level}_{channel.name}"]] = _zscore(
                        _similarity(queries, cents))[:, owner]
            for which, vectors in channel.examples.items():
                ex_sims = _similarity(queries, vectors)
                if channel.name == "char" and which == "example":
                    ex_char = ex_sims
                mixed[which] += (ex_sims - sims.mean(axis=1, keepdims=True)) / (
                    sims.std(axis=1, keepdims=True) + 1e-6)
                used[which] += 1
        kw_queries = self._kw_encoder.encode(list(texts), "query")
        kw_max = _max_by_owner(_similarity(kw_queries, self._kw_matrix), self._kw_starts)
        full[_FEATURE_INDEX["kw"]] = _zscore(kw_max)
        full[_FEATURE_INDEX["kw_max"]] = kw_max
        full[_FEATURE_INDEX["general"]] = self._general[np.newaxis, :]
        winner_full = np.full((n, m), -1, dtype=np.int64)
        for which, st in self._sets.items():
            if not used[which]:
                continue
            ex_mixed = mixed[which] / used[which]
            starts = np.flatnonzero(np.r_[True, np.diff(st.label) != 0])
            label_ids = st.label[starts]
            best = np.maximum.reduceat(ex_mixed, starts, axis=1)
            full[_FEATURE_INDEX[which], :, label_ids] = np.maximum(best, 0.0).T
            if which == "example":
                if ex_char is not None:
                    dup = np.maximum.reduceat(ex_char, starts, axis=1) >= DUPLICATE_SIMILARITY
                    full[_FEATURE_INDEX["duplicate"], :, label_ids] = dup.T.astype(np.float32)
                winner_full[:, label_ids] = _argmax_reduceat(ex_mixed, starts)
        gen = sum(full[_FEATURE_INDEX[name]] for name in ("char", "word", "dense", "kw",
                                                           "example", "starter"))
        k = min(candidates, m)
        cand = np.argpartition(-gen, k - 1, axis=1)[:, :k]
        rows = np.arange(n)[:, np.newaxis]
        cand = cand[rows, np.argsort(-gen[rows, cand], axis=1, kind="stable")]
        feats = np.transpose(full[:, rows, cand], (1, 2, 0))
        return cand, feats, winner_full[rows, cand]

    # ----------------------------------------------------------------------- suggest

    def rank(self, texts: Sequence[str], candidates: int = CANDIDATES
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(label indexes best first [n × k], ranker probabilities [n × k], calibrated
        confidence [n × k], winning example per cell)."""
        cand, feats, winner = self.features(texts, candidates)
        probs = self.ranker.probabilities(feats)
        order = np.argsort(-probs, axis=1, kind="stable")
        rows = np.arange(len(cand))[:, np.newaxis]
        cand, probs, winner = cand[rows, order], probs[rows, order], winner[rows, order]
        return cand, probs, self.ranker.confidence(probs), winner

    def suggest(self, texts: Sequence[str], top: int = 10, *, with_evidence: bool = True
                ) -> list[list[Suggestion]]:
        """Top ``top`` codes per text, best first."""
        if not texts:
            return []
        top = max(1, min(top, len(self.labels)))
        cand, probs, conf, winner = self.rank(texts, max(CANDIDATES, top))
        out: list[list[Suggestion]] = []
        for row, text in enumerate(texts):
            items = []
            for col in range(top):
                label = self.labels[cand[row, col]]
                ev: list[str] = []
                if with_evidence:
                    ev = evidence(text, label)
                    ex = winner[row, col]
                    if ex >= 0:
                        ev += [w for w in shared_words(text, self._sets["example"].texts[ex])
                               if w not in ev]
                items.append(Suggestion(code=label.code, title=label.title,
                                        score=round(float(probs[row, col]), 4),
                                        confidence=round(float(conf[row, col]), 4),
                                        evidence=ev))
            out.append(items)
        return out


def _codes_to_index(keys: list[str]) -> np.ndarray:
    index: dict[str, int] = {}
    return np.array([index.setdefault(k, len(index)) for k in keys], dtype=np.int64)


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
