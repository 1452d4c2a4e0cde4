"""The written KLE texts the ranker is refitted and calibrated on: a valid file, a stable
held-out split, and a shipped model whose confidence means what it says on the held-out part.

The held-out (EVAL) texts are never fitted on (``casework.suggest.training``); the accuracy
figures are in ``bench/suggest_accuracy.py``. Here: the calibration promise on real-looking
texts, with the fast TF-IDF engine.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from casework.suggest.calibration import ece_if_calibrated, expected_calibration_error
from casework.suggest.evaluation import accepts
from casework.suggest.taxonomy import load_kle
from casework.suggest.training import (
    WRITTEN_TEXTS,
    ranked_codes,
    resembling,
    written_split,
    written_texts,
)


def test_written_texts_are_valid_and_cover_the_taxonomy() -> None:
    rows = written_texts()
    codes = {lab.code for lab in load_kle().labels}
    assert len(rows) >= 800
    assert {r["set"] for r in rows} == {"spread", "frequent"}
    assert len({r["id"] for r in rows}) == len(rows)
    assert all(r["accept"] and set(r["accept"]) <= codes for r in rows)
    assert set(Counter(r["kind"] for r in rows)) == {"citizen", "title", "internal"}
    mains = {r["accept"][0][:2] for r in rows}
    assert len(mains) >= 30  # every main group, not only the famous subjects


def test_held_out_split_is_stable_and_about_a_third() -> None:
    assert written_split("p1-001") == written_split("p1-001")
    held = written_texts("eval")
    train = written_texts("train")
    assert not {r["id"] for r in held} & {r["id"] for r in train}
    assert 0.25 < len(held) / (len(held) + len(train)) < 0.42


def test_a_bad_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "texts.jsonl"
    good = json.dumps({"id": "a", "kind": "title", "text": "x", "accept": ["00.01.00"]})
    path.write_text(good + "\n" + '{"id": "b", "text": "y"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"texts\.jsonl:2"):
        written_texts(path=path)
    assert WRITTEN_TEXTS.is_file()


def test_no_written_text_copies_a_bench_or_demo_letter() -> None:
    """The starter examples must not carry the letters the bench and the demo measure on
    (LLM-written letters about common subjects converge on the same phrasing)."""
    import importlib.util

    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("bench_suggest",
                                                  root / "bench" / "suggest_accuracy.py")
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    letters = [t for t, _ in bench.LETTERS] + [t for half in bench.letter_halves().values()
                                               for t, _ in half]
    demo = root / "demo" / "data" / "letters.jsonl"
    letters += [json.loads(line)["body"] for line in demo.read_text(encoding="utf-8")
                .splitlines() if line.strip()]
    rows = written_texts()
    hit = resembling([r["text"] for r in rows], letters)
    copies = [r["id"] for r, h in zip(rows, hit, strict=True) if h]
    assert copies == []


def test_confidence_on_held_out_written_texts_is_within_sampling_noise(
        suggest_cache: Path, tmp_path: Path) -> None:
    from casework.suggest.suggester import TaxonomySuggester

    installed = TaxonomySuggester.load("kle", "tfidf", cache_dir=suggest_cache,
                                       model_dir=tmp_path / "no-model", starter=True)
    assert installed.starter_count > 500
    rows = written_texts("eval")
    ranked, conf = ranked_codes(installed, [r["text"] for r in rows], top=1)
    right = np.array([accepts(r[0], row["accept"]) for r, row in zip(ranked, rows, strict=True)])
    assert 0.35 < right.mean() < 0.8
    assert abs(conf.mean() - right.mean()) < 0.08, (conf.mean(), right.mean())
    _, p95 = ece_if_calibrated(conf)
    assert expected_calibration_error(conf, right) <= p95
    sure = conf >= 0.8
    assert sure.sum() >= 10 and right[sure].mean() >= 0.7  # "0.8" is mostly right
