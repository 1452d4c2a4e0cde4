"""Confirmed examples: append-only store, retrain into a model folder, picked up on load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from casework.suggest.examples import Example, ExampleModel, ExampleStore, retrain
from casework.suggest.starter import starter_examples
from casework.suggest.suggester import TaxonomySuggester
from casework.suggest.taxonomy import TaxonomyError, load_kle


def test_store_appends_and_last_confirmation_wins(tmp_path: Path) -> None:
    kle = load_kle()
    store = ExampleStore(tmp_path / "examples")
    assert store.latest("kle") == []
    store.add(kle, [Example(id="1", text="carport", code="02.34.00")])
    store.add(kle, [Example(id="2", text="boligstøtte", code="32.06.00"),
                    Example(id="1", text="carport", code="02.34.02")])
    lines = store.path("kle").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and json.loads(lines[0])["confirmed_at"]
    latest = {ex.id: ex.code for ex in store.latest("kle")}
    assert latest == {"1": "02.34.02", "2": "32.06.00"}
    with pytest.raises(TaxonomyError, match="code '99.99.99' is not in kle"):
        store.add(kle, [Example(id="3", text="x", code="99.99.99")])


def test_rejections_are_kept_but_only_confirmed_choices_are_learnt(
        tmp_path: Path, suggest_cache: Path) -> None:
    kle = load_kle()
    store = ExampleStore(tmp_path / "examples")
    store.add(kle, [Example(id="1", text="hundeskov ved søen", code="09.19.00",
                            suggested="09.19.00", decision="approved"),
                    Example(id="2", text="carport i haven", code="02.34.02",
                            suggested="02.34.30", decision="amended"),
                    Example(id="3", text="nedrivning af udhus", code="82.21.00",
                            suggested="82.21.00", decision="rejected")])
    assert [ex.id for ex in store.latest("kle")] == ["1", "2", "3"]
    assert [ex.id for ex in store.confirmed("kle")] == ["1", "2"]
    meta = retrain("kle", store=store, model_dir=tmp_path / "model", engine="tfidf")
    assert (meta.examples, meta.rejected) == (2, 1)
    assert "82.21.00" not in ExampleModel.load(tmp_path / "model").codes
    # a later confirmation of the rejected letter's right code makes it a positive example
    store.add(kle, [Example(id="3", text="nedrivning af udhus", code="02.34.30",
                            suggested="82.21.00", decision="amended")])
    assert [ex.code for ex in store.confirmed("kle")] == ["09.19.00", "02.34.02", "02.34.30"]


def test_store_reports_corrupt_line(tmp_path: Path) -> None:
    store = ExampleStore(tmp_path)
    store.path("kle").write_text('{"id": "1", "text": "a", "code": "02.34.02"}\nnot json\n',
                                 encoding="utf-8")
    with pytest.raises(ValueError, match=r"kle.jsonl line 2"):
        store.latest("kle")


def test_default_folders_follow_settings(cli_env: Path) -> None:
    assert ExampleStore().folder == cli_env / "examples"
    assert ExampleModel.default_dir("kle") == cli_env / "models" / "suggest" / "kle"


def test_retrain_builds_model_used_on_load(tmp_path: Path, suggest_cache: Path) -> None:
    store = ExampleStore(tmp_path / "examples")
    text = "Spørgsmål om hundeskov ved søen og hegn omkring"
    store.add(load_kle(), [Example(id="a", text=text, code="09.19.00")])
    with pytest.raises(ValueError, match="no confirmed examples for fsiii"):
        retrain("fsiii", store=store, model_dir=tmp_path / "fs")
    meta = retrain("kle", store=store, model_dir=tmp_path / "model", engine="tfidf")
    assert (meta.examples, meta.codes, meta.engine, meta.encoder) == (1, 1, "tfidf", None)
    assert (tmp_path / "model" / "meta.json").is_file()
    model = ExampleModel.load(tmp_path / "model")
    assert model.texts == [text] and model.codes == ["09.19.00"]

    suggester = TaxonomySuggester.load("kle", "tfidf", cache_dir=suggest_cache,
                                       model_dir=tmp_path / "model", starter=False)
    assert suggester.example_count == 1
    letter = "Henvendelse om hundeskov ved Nørresø og indhegning"
    plain = TaxonomySuggester.load("kle", "tfidf", cache_dir=suggest_cache,
                                   model_dir=tmp_path / "model", use_examples=False)
    assert plain.example_count == 0
    both = TaxonomySuggester.load("kle", "tfidf", cache_dir=suggest_cache,
                                  model_dir=tmp_path / "model")
    assert (both.example_count, both.starter_count) == (1, len(starter_examples("kle")[0]))

    def rank(s: TaxonomySuggester) -> int:
        codes = [x.code for x in s.suggest([letter], top=50, with_evidence=False)[0]]
        return codes.index("09.19.00") if "09.19.00" in codes else 99

    assert rank(suggester) < rank(plain)  # one example lifts its code; the same text: first
    assert suggester.suggest([text], top=1)[0][0].code == "09.19.00"
    with pytest.raises(FileNotFoundError, match="not a retrained suggestion model"):
        ExampleModel.load(tmp_path / "nothing")


def test_starter_examples_load_by_default_and_the_setting_turns_them_off(
        cli_env: Path, suggest_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new installation has no confirmed choices; the shipped starter texts fill the example
    channel (KLE only, never the held-out texts), and CASEWORK_STARTER_EXAMPLES=false empties
    it again."""
    from casework.settings import reset_settings_cache
    from casework.suggest.training import written_texts

    texts, codes = starter_examples("kle")
    assert len(texts) > 300 and set(texts) == {r["text"] for r in written_texts("train")}
    assert not set(texts) & {r["text"] for r in written_texts("eval")}
    assert starter_examples("fsiii") == ([], [])
    started = TaxonomySuggester.load("kle", "tfidf", cache_dir=suggest_cache)
    assert (started.starter_count, started.example_count) == (len(texts), 0)
    # A letter phrased like a starter text gets that text's subject, as a confirmed choice would.
    first = texts[0]
    assert started.suggest([first], top=1)[0][0].code == codes[0]
    monkeypatch.setenv("CASEWORK_STARTER_EXAMPLES", "false")
    reset_settings_cache()
    assert TaxonomySuggester.load("kle", "tfidf", cache_dir=suggest_cache).starter_count == 0
