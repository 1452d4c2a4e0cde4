"""The confidence shown for an FSIII care note means about the probability that the top
condition is right.

Checked on pseudo care notes of TRAIN conditions with another seed than the shipped
calibration was fitted on (other fragments, fillers and distractors), with the fast TF-IDF
engine. Not a test-set figure (``bench/suggest_accuracy.py`` has those, on TEST conditions and
hand-written notes): it catches a calibration that drifts away from what it promises on notes,
e.g. one fitted on definitions again.
"""

from __future__ import annotations

import random
from pathlib import Path

from calibration_checks import assert_calibrated

from casework.suggest.care_notes import definition_fragments, note_holdout, realistic_note
from casework.suggest.suggester import TaxonomySuggester
from casework.suggest.taxonomy import load_fsiii
from casework.suggest.training import is_test


def test_confidence_on_care_notes_matches_accuracy(suggest_cache: Path) -> None:
    variant, items = note_holdout(load_fsiii(), "train", per_condition=5, seed=7)
    assert items and not any(is_test(it["code"]) for it in items)
    suggester = TaxonomySuggester(variant, "tfidf", cache_dir=suggest_cache)
    assert_calibrated(suggester, items, "note", accuracy_between=(0.3, 0.95), max_gap=0.08,
                      sure_margin=0.15)


def test_notes_say_the_definition_in_pieces_and_hold_it_out_of_the_label() -> None:
    fsiii = load_fsiii()
    variant, items = note_holdout(fsiii, "train", per_condition=2, seed=3)
    held = {it["code"] for it in items}
    assert all(not lab.description for lab in variant.labels if lab.code in held)
    assert all(lab.description for lab in variant.labels if lab.code not in held)
    dressing = next(lab for lab in fsiii.labels if lab.code == "J1.3")
    assert "bukser" in definition_fragments(dressing.description)
    note = realistic_note(random.Random(0), dressing, [])
    assert dressing.description not in note and note.strip()
