"""Learning from caseworkers' decisions: 50 corrections of one kind move the ranking for
similar new letters (and leave unrelated letters alone); decisions are kept per municipality."""

from __future__ import annotations

import json
from pathlib import Path

from casework.suggest.examples import Example, ExampleModel, ExampleStore, retrain
from casework.suggest.ranker import RANKER_DIR
from casework.suggest.suggester import TaxonomySuggester
from casework.suggest.taxonomy import load_kle

PERMIT = "02.34.02"  # Byggetilladelse; the untrained ranking prefers 02.34.24 for carports
_BUILDINGS = ["carport", "garage", "udhus", "overdækket terrasse", "tilbygning", "carport med "
              "redskabsrum", "dobbelt carport", "garage med skur", "udestue", "sommerhus-anneks"]
_OPENINGS = ["Jeg vil gerne søge om byggetilladelse til en {b} på min grund.",
             "Vi ønsker at opføre en {b} og spørger, om det kræver byggetilladelse.",
             "Ansøgning om tilladelse til at bygge {b} ved vores hus.",
             "Må jeg bygge en {b} tæt på skellet? Jeg har vedhæftet tegninger.",
             "Vi har planer om en ny {b} og vil gerne have tilladelse fra kommunen."]


def _corrections() -> list[Example]:
    texts = [o.format(b=b) for b in _BUILDINGS for o in _OPENINGS]
    return [Example(id=f"c{i}", text=t, code=PERMIT, suggested="02.34.24", decision="amended")
            for i, t in enumerate(texts)]


NEW_LETTER = ("Hej. Vi har købt et hus og vil gerne bygge en carport i indkørslen. "
              "Skal vi søge om noget? Mvh Lise")
UNRELATED = "Jeg vil gerne søge om boligstøtte til min nye lejlighed."


def _rank(suggester: TaxonomySuggester, text: str, code: str) -> int:
    [ranked] = suggester.suggest([text], top=50, with_evidence=False)
    return next((i for i, s in enumerate(ranked) if s.code == code), 99)


def test_fifty_corrections_move_the_ranking(tmp_path: Path, suggest_cache: Path) -> None:
    examples = _corrections()
    assert len(examples) == 50
    store = ExampleStore(tmp_path / "examples", municipality="aarhus")
    store.add(load_kle(), examples)
    before = TaxonomySuggester.load("kle", "tfidf", cache_dir=suggest_cache,
                                    model_dir=tmp_path / "none")
    rank_before = _rank(before, NEW_LETTER, PERMIT)
    assert rank_before > 0  # the correction is needed
    unrelated_before = before.suggest([UNRELATED], top=1)[0][0].code

    meta = retrain("kle", store=store, engine="tfidf", model_dir=tmp_path / "model",
                   cache_dir=suggest_cache)
    assert meta.examples == 50 and meta.ranker is not None
    refit = json.loads((tmp_path / "model" / "ranker.tfidf.json").read_text(encoding="utf-8"))
    assert "50 confirmed examples" in refit["trained_on"]
    # Only the weight of the municipality's own examples moved; the starter texts' stayed.
    shipped = json.loads((RANKER_DIR / "kle.tfidf.json").read_text(encoding="utf-8"))
    moved = dict(zip(refit["features"], refit["weights"], strict=True))
    kept = dict(zip(shipped["features"], shipped["weights"], strict=True))
    assert moved["starter"] == kept["starter"] and moved["example"] != kept["example"]

    after = TaxonomySuggester.load("kle", "tfidf", cache_dir=suggest_cache,
                                   model_dir=tmp_path / "model")
    [top] = after.suggest([NEW_LETTER], top=3)
    assert top[0].code == PERMIT, (rank_before, top)
    assert top[0].confidence > 0.5
    assert after.suggest([UNRELATED], top=1)[0][0].code == unrelated_before


def test_few_examples_keep_the_shipped_ranker(tmp_path: Path, suggest_cache: Path) -> None:
    store = ExampleStore(tmp_path / "examples")
    store.add(load_kle(), _corrections()[:5])
    meta = retrain("kle", store=store, engine="tfidf", model_dir=tmp_path / "model",
                   cache_dir=suggest_cache)
    assert meta.ranker is None and not (tmp_path / "model" / "ranker.tfidf.json").exists()


def test_decisions_are_stored_per_municipality(cli_env: Path) -> None:
    kle = load_kle()
    ExampleStore(municipality="odense").add(kle, _corrections()[:2])
    assert (cli_env / "examples" / "odense" / "kle.jsonl").is_file()
    assert ExampleStore().latest("kle") == []
    [first, _] = ExampleStore(municipality="odense").latest("kle")
    assert (first.decision, first.suggested) == ("amended", "02.34.24")
    assert ExampleModel.default_dir("kle", "odense") == (
        cli_env / "models" / "suggest" / "odense" / "kle")


def test_a_refit_saved_before_starter_examples_still_weighs_them() -> None:
    """A municipality's ranker file from before the ``starter`` feature existed weighs the
    starter texts like its own examples, not with 0 (which would silently turn them off)."""
    from casework.suggest.ranker import FEATURES, RankerModel

    old = [f for f in FEATURES if f != "starter"]
    model = RankerModel(taxonomy="kle", engine="tfidf", features=old,
                        weights=[0.5 if f == "example" else 0.1 for f in old])
    weights = dict(zip(FEATURES, model._w().tolist(), strict=True))
    assert weights["starter"] == weights["example"] == 0.5
    assert RankerModel.default("kle", "tfidf")._w()[FEATURES.index("starter")] > 0
