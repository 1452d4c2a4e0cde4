"""A small TF-IDF vectoriser (word or character n-grams) on numpy + scipy only.

Same maths as scikit-learn's ``TfidfVectorizer(sublinear_tf=True, smooth_idf=True)`` with
``analyzer="word"`` or ``"char_wb"``, but importing scikit-learn costs about two seconds on the
target machines, which would dominate a CLI call that should answer in well under that. The
state is plain JSON (vocabulary + IDF), so model folders never contain pickles.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

import numpy as np
from scipy import sparse

Analyzer = Literal["word", "char"]
_TOKEN = re.compile(r"(?u)\b\w\w+\b")


def word_ngrams(text: str, n_max: int = 2) -> list[str]:
    tokens = _TOKEN.findall(text)
    grams = list(tokens)
    for n in range(2, n_max + 1):
        grams.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return grams


def char_wb_ngrams(text: str, n_min: int = 3, n_max: int = 5) -> list[str]:
    """Character n-grams inside word boundaries, words padded with one space each side."""
    grams: list[str] = []
    append = grams.append
    for word in text.split():
        w = f" {word} "
        length = len(w)
        for n in range(n_min, n_max + 1):
            if length < n:
                if n == n_min:
                    append(w)
                break
            for i in range(length - n + 1):
                append(w[i:i + n])
    return grams


class Tfidf:
    """Fit on a corpus, then turn texts into L2-normalised sparse rows."""

    def __init__(self, analyzer: Analyzer, preprocess: Callable[[str], str] = str.lower,
                 ngram_range: tuple[int, int] | None = None) -> None:
        self.analyzer = analyzer
        self.preprocess = preprocess
        default = (1, 2) if analyzer == "word" else (3, 5)
        self.ngram_range = tuple(ngram_range or default)
        self.vocabulary: dict[str, int] = {}
        self.idf = np.zeros(0, dtype=np.float32)

    def _grams(self, text: str) -> list[str]:
        text = self.preprocess(text)
        lo, hi = self.ngram_range
        if self.analyzer == "word":
            return word_ngrams(text, hi)
        return char_wb_ngrams(text, lo, hi)

    def _counts(self, texts: Iterable[str], grow: bool) -> sparse.csr_matrix:
        vocab = self.vocabulary
        indices: list[int] = []
        indptr = [0]
        for text in texts:
            for gram in self._grams(text):
                idx = vocab.get(gram)
                if idx is None:
                    if not grow:
                        continue
                    idx = vocab[gram] = len(vocab)
                indices.append(idx)
            indptr.append(len(indices))
        data = np.ones(len(indices), dtype=np.float32)
        matrix = sparse.csr_matrix(
            (data, np.asarray(indices, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
            shape=(len(indptr) - 1, len(vocab)),
        )
        matrix.sum_duplicates()
        return matrix

    def _weight(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        counts = counts.astype(np.float32)
        counts.data = (np.log(counts.data) + 1.0).astype(np.float32)
        weighted = counts.multiply(self.idf[np.newaxis, :]).tocsr()
        norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sparse.diags((1.0 / norms).astype(np.float32)) @ weighted

    def fit_transform(self, corpus: Sequence[str]) -> sparse.csr_matrix:
        self.vocabulary = {}
        counts = self._counts(corpus, grow=True)
        df = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.float64)
        self.idf = (np.log((1 + counts.shape[0]) / (1 + df)) + 1.0).astype(np.float32)
        return self._weight(counts).tocsr()

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        return self._weight(self._counts(texts, grow=False)).tocsr()

    def feature_names(self) -> list[str]:
        names = [""] * len(self.vocabulary)
        for gram, idx in self.vocabulary.items():
            names[idx] = gram
        return names

    def state(self) -> dict[str, Any]:
        return {"analyzer": self.analyzer, "ngram_range": list(self.ngram_range),
                "vocabulary": self.feature_names(),
                "idf": [round(float(x), 5) for x in self.idf]}

    @classmethod
    def from_state(cls, state: dict[str, Any], preprocess: Callable[[str], str] = str.lower
                   ) -> Tfidf:
        model = cls(state["analyzer"], preprocess, tuple(state["ngram_range"]))
        model.vocabulary = {gram: i for i, gram in enumerate(state["vocabulary"])}
        model.idf = np.asarray(state["idf"], dtype=np.float32)
        if len(model.idf) != len(model.vocabulary):
            raise ValueError("TF-IDF state: vocabulary and idf differ in length")
        return model
