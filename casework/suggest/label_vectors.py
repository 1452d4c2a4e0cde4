"""Label embeddings: shipped in the package, topped up from a cache, computed only when missing.

Embedding all 2,390 KLE subjects takes minutes on two cores, so the vectors are computed once
(``python -m casework.suggest.label_vectors``) and shipped as float16 ``.npy`` with a JSON
sidecar (encoder, source file hash, one hash per label document). At start-up each label's
document is hashed: unchanged labels use the shipped vector, changed or new labels (a newer KLE
release, another FSIII branch, a different encoder) are embedded once and kept in
``<data_dir>/cache/label-vectors``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scipy import sparse

from casework.suggest import resources
from casework.suggest.encoders import STOPWORDS, Encoder, Role, TfidfEncoder, normalise_rows
from casework.suggest.taxonomy import Taxonomy

log = logging.getLogger(__name__)
_BATCH = 32
# Bump the version when casework.suggest.tfidf changes; stop-word edits change the key by hash.
_TFIDF_RECIPE = "tfidf-v2-" + resources.sha1_text(" ".join(sorted(STOPWORDS)))


def encoder_slug(encoder: Encoder) -> str:
    """File-name-safe, stable id of an encoder (URLs are hashed, not spelled out)."""
    name = encoder.name
    if "@" in name:
        name = name.split("@", 1)[0] + "-" + resources.sha1_text(name)[:8]
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", name)[:80]


def _shipped_paths(directory: Path, taxonomy: str, slug: str) -> tuple[Path, Path]:
    return directory / f"{taxonomy}.{slug}.npy", directory / f"{taxonomy}.{slug}.json"


def _atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    write(tmp)
    os.replace(tmp, path)


class LabelVectorStore:
    """Finds (or computes and caches) one embedding per label document."""

    def __init__(self, cache_dir: Path | None, shipped_dir: Path = resources.EMBEDDINGS_DIR
                 ) -> None:
        self.cache_dir = Path(cache_dir) / "label-vectors" if cache_dir else None
        self.shipped_dir = shipped_dir
        self.computed = 0  # how many documents the last call had to embed (for logs/tests)

    def _known(self, taxonomy: str, slug: str) -> dict[str, np.ndarray]:
        known: dict[str, np.ndarray] = {}
        npy, meta_path = _shipped_paths(self.shipped_dir, taxonomy, slug)
        if npy.is_file() and meta_path.is_file():
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            vectors = np.load(npy)
            known.update(zip(meta["doc_hashes"], vectors, strict=True))
        cache = self._cache_file(taxonomy, slug)
        if cache and cache.is_file():
            with np.load(cache) as data:
                known.update(zip(data["hashes"].tolist(), data["vectors"], strict=True))
        return known

    def _cache_file(self, taxonomy: str, slug: str) -> Path | None:
        return self.cache_dir / f"{taxonomy}.{slug}.npz" if self.cache_dir else None

    def vectors(self, taxonomy: Taxonomy, encoder: Encoder, docs: list[str]) -> np.ndarray:
        """Rows aligned with ``docs`` (one per label), float32 and L2-normalised."""
        return self.text_vectors(taxonomy.name, encoder, docs, role="passage",
                                 what=f"{taxonomy.name} label documents")

    def text_vectors(self, name: str, encoder: Encoder, docs: list[str], *,
                     role: Role = "passage", what: str = "") -> np.ndarray:
        """Embeddings of ``docs`` in ``role`` kept under ``name`` (shipped, then cached):
        label documents, or the starter examples (queries)."""
        slug = encoder_slug(encoder) + ("" if role == "passage" else f"-{role}")
        hashes = [resources.sha1_text(d) for d in docs]
        known = self._known(name, slug)
        missing = sorted({h: i for i, h in enumerate(hashes) if h not in known}.values())
        self.computed = len(missing)
        if missing:
            log.warning(
                "embedding %d of %d %s with %s (changed or not shipped); this happens once, "
                "the result is cached", len(missing), len(docs), what or name, encoder.name,
            )
            started = time.monotonic()
            new: dict[str, np.ndarray] = {}
            for start in range(0, len(missing), _BATCH):
                idx = missing[start:start + _BATCH]
                rows = np.asarray(encoder.encode([docs[i] for i in idx], role=role))
                new.update({hashes[i]: row for i, row in zip(idx, rows, strict=True)})
            log.info("embedded %d documents in %.1f s", len(missing), time.monotonic() - started)
            known.update(new)
            self._save_cache(name, slug, new)
        if not docs:
            return np.zeros((0, 0), dtype=np.float32)
        matrix = np.vstack([known[h] for h in hashes]).astype(np.float32)
        return normalise_rows(matrix)

    def tfidf(self, taxonomy: Taxonomy, analyzer: str, docs: list[str]
              ) -> tuple[TfidfEncoder, sparse.csr_matrix]:
        """A TF-IDF encoder fitted on ``docs`` and the docs' rows, cached (fitting on 2,390 KLE
        documents takes seconds; loading the cached vocabulary and matrix takes milliseconds)."""
        key = resources.sha1_text(
            "\x00".join([analyzer, _TFIDF_RECIPE, *docs])
        )
        stem = f"{taxonomy.name}.tfidf-{analyzer}"
        if self.cache_dir:
            state_file = self.cache_dir / f"{stem}-{key}.json"
            matrix_file = self.cache_dir / f"{stem}-{key}.npz"
            if state_file.is_file() and matrix_file.is_file():
                try:
                    state = json.loads(state_file.read_text(encoding="utf-8"))
                    return TfidfEncoder.from_state(state), sparse.load_npz(matrix_file).tocsr()
                except (OSError, ValueError, KeyError) as exc:
                    log.warning("ignoring unreadable TF-IDF cache %s: %s", state_file, exc)
        encoder = TfidfEncoder([analyzer])
        matrix = encoder.fit_encode(docs)
        if self.cache_dir:
            _store_matrix(self.cache_dir, stem, matrix_file, matrix)
            _atomic_write(state_file, lambda tmp: tmp.write_text(
                json.dumps(encoder.state(), ensure_ascii=False), encoding="utf-8"))
        return encoder, matrix

    def keyword_matrix(self, taxonomy: Taxonomy, encoder: TfidfEncoder, texts: list[str],
                       fitted_on: list[str]) -> sparse.csr_matrix:
        """Rows of ``texts`` (one per keyword) under a fitted TF-IDF ``encoder``; cached,
        because encoding 32,000 KLE keywords takes a second or two. ``fitted_on`` are the
        documents the encoder was fitted on (part of the cache key)."""
        key = resources.sha1_text("\x00".join(
            [_TFIDF_RECIPE, *encoder.analyzers, *fitted_on, "\x01", *texts]))
        stem = f"{taxonomy.name}.keywords"
        matrix_file = self.cache_dir / f"{stem}-{key}.npz" if self.cache_dir else None
        if matrix_file is not None and matrix_file.is_file():
            try:
                return sparse.load_npz(matrix_file).tocsr()
            except (OSError, ValueError) as exc:
                log.warning("ignoring unreadable keyword cache %s: %s", matrix_file, exc)
        matrix = encoder.encode(texts, "passage")
        if matrix_file is not None and self.cache_dir is not None:
            _store_matrix(self.cache_dir, stem, matrix_file, matrix)
        return matrix

    def _save_cache(self, taxonomy: str, slug: str, new: dict[str, np.ndarray]) -> None:
        cache = self._cache_file(taxonomy, slug)
        if cache is None:
            return
        cache.parent.mkdir(parents=True, exist_ok=True)
        entries: dict[str, np.ndarray] = {}
        if cache.is_file():
            with np.load(cache) as data:
                entries.update(zip(data["hashes"].tolist(), data["vectors"], strict=True))
        entries.update(new)
        keys = list(entries)

        def write(tmp: Path) -> None:
            with tmp.open("wb") as fh:
                np.savez(fh, hashes=np.array(keys),
                         vectors=np.vstack([entries[k] for k in keys]).astype(np.float16))

        _atomic_write(cache, write)


def _store_matrix(cache_dir: Path, stem: str, path: Path, matrix: sparse.csr_matrix) -> None:
    """Write ``matrix`` to ``path`` atomically, after evicting older files of ``stem``."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    _evict(cache_dir, stem)

    def write(tmp: Path) -> None:
        with tmp.open("wb") as fh:
            sparse.save_npz(fh, matrix)

    _atomic_write(path, write)


def _evict(directory: Path, stem: str) -> None:
    """Remove finished cache files of ``stem`` (not another process's ``.tmp<pid>`` file,
    whose rename would then fail)."""
    for old in directory.glob(f"{stem}-*"):
        if old.suffix in (".json", ".npz"):
            old.unlink(missing_ok=True)


def build_shipped(taxonomy: Taxonomy, encoder: Encoder, docs: list[str],
                  directory: Path = resources.EMBEDDINGS_DIR) -> Path:
    """Embed every label document and write the package's ``.npy`` + ``.json`` pair."""
    return build_shipped_texts(taxonomy.name, encoder, docs, directory=directory, meta={
        "taxonomy": taxonomy.name, "source_file": taxonomy.source,
        "source_sha256": taxonomy.sha256, "codes": [label.code for label in taxonomy.labels]})


def build_shipped_texts(name: str, encoder: Encoder, docs: list[str], *,
                        role: Role = "passage", directory: Path = resources.EMBEDDINGS_DIR,
                        meta: dict[str, object] | None = None) -> Path:
    """Embed ``docs`` in ``role`` and write them as shipped vectors under ``name`` (what
    ``text_vectors`` finds before computing anything)."""
    directory.mkdir(parents=True, exist_ok=True)
    store = LabelVectorStore(cache_dir=None, shipped_dir=directory / "__none__")
    vectors = store.text_vectors(name, encoder, docs, role=role).astype(np.float16)
    slug = encoder_slug(encoder) + ("" if role == "passage" else f"-{role}")
    npy, meta_path = _shipped_paths(directory, name, slug)
    _atomic_write(npy, lambda tmp: tmp.write_bytes(_npy_bytes(vectors)))
    record = {
        **(meta or {"taxonomy": name}),
        "encoder": encoder.name,
        "role": role,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "dtype": "float16",
        "doc_hashes": [resources.sha1_text(d) for d in docs],
    }
    meta_path.write_text(json.dumps(record, ensure_ascii=False, indent=0) + "\n",
                         encoding="utf-8")
    return npy


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def shipped_sha256(taxonomy: str, encoder: Encoder,
                   directory: Path = resources.EMBEDDINGS_DIR) -> str | None:
    """Hash of the taxonomy file the shipped vectors were built from (None if none shipped)."""
    meta_path = _shipped_paths(directory, taxonomy, encoder_slug(encoder))[1]
    if not meta_path.is_file():
        return None
    return json.loads(meta_path.read_text(encoding="utf-8")).get("source_sha256")


def main() -> None:
    """Rebuild the shipped label embeddings (run after updating a taxonomy file)."""
    from casework.suggest.documents import embed_doc
    from casework.suggest.encoders import E5Encoder
    from casework.suggest.starter import starter_examples
    from casework.suggest.taxonomy import load_fsiii, load_kle

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    encoder = E5Encoder()
    for taxonomy in (load_fsiii(branches=("I", "J", "F")), load_kle()):
        docs = [embed_doc(label) for label in taxonomy.labels]
        path = build_shipped(taxonomy, encoder, docs)
        print(f"{taxonomy.name}: {len(docs)} labels -> {path}")
    texts, _ = starter_examples("kle")
    path = build_shipped_texts("kle-starter", encoder, texts, role="query",
                               meta={"taxonomy": "kle-starter",
                                     "source_file": "training/kle_texts.jsonl (TRAIN part)"})
    print(f"kle starter examples: {len(texts)} texts -> {path}")


if __name__ == "__main__":
    main()
