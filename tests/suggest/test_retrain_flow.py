"""Scheduled retraining on small example sets: a store is retrained once it holds enough
confirmed choices its model has not seen (corrections count, rejections do not), per taxonomy
and municipality; every retrain and failure is audited without any letter's text; and the
flow runs as a real Prefect flow."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from casework.db.models import AuditEvent
from casework.db.session import reading
from casework.suggest.examples import Example, ExampleModel, ExampleStore
from casework.suggest.retrain_flow import (
    RetrainFailed,
    plan,
    retrain_due,
    retrain_one,
    scheduled_retrain,
    stores,
)
from casework.suggest.taxonomy import load_kle

TEXTS = {"a": ("Hundeskov ved søen og hegn omkring", "09.19.00"),
         "b": ("Ansøgning om byggetilladelse til carport", "02.34.02"),
         "c": ("Boligstøtte til min lejlighed", "32.06.00")}


def example(key: str, code: str | None = None, decision: str = "amended") -> Example:
    text, right = TEXTS[key]
    return Example(id=key, text=text, code=code or right, decision=decision)


def due(**kw: object):  # type: ignore[no-untyped-def]
    options = {"min_new": 2, "engine": "tfidf", "taxonomies": None, "examples_dir": None, **kw}
    return [(r.taxonomy, r.municipality, r.new, r.status)
            for r in retrain_due(retrain_one.fn, **options)]  # type: ignore[arg-type]


def events(engine: Engine) -> list[tuple[str, dict]]:
    with reading(engine) as s:
        return [(e.action, e.details) for e in s.scalars(
            select(AuditEvent).where(AuditEvent.action.like("suggest.retrain%"))
            .order_by(AuditEvent.seq))]


def test_retrains_each_store_once_enough_new_choices_came_in(db_engine: Engine,
                                                             casework_env: Path) -> None:
    kle = load_kle()
    ExampleStore().add(kle, [example("a"), example("b")])
    aarhus = ExampleStore(municipality="aarhus")
    aarhus.add(kle, [example("a"), example("c", "02.34.24", decision="rejected")])
    assert [s.municipality for s in stores()] == [None, "aarhus"]

    # the installation's 2 new choices are enough; Aarhus has 1 (a rejection teaches nothing)
    assert due() == [("kle", None, 2, "retrained"), ("kle", "aarhus", 1, "skipped")]
    assert ExampleModel.load(ExampleModel.default_dir("kle")).codes == ["09.19.00", "02.34.02"]
    assert not ExampleModel.default_dir("kle", "aarhus").exists()
    assert due() == [("kle", None, 0, "skipped"), ("kle", "aarhus", 1, "skipped")]

    # a correction of a letter the model saw counts as new, as does a new letter
    ExampleStore().add(kle, [example("b", "02.34.24"), example("c")])
    assert plan(ExampleStore(), "kle").new == 2
    assert due(min_new=2, taxonomies=["kle"])[0] == ("kle", None, 2, "retrained")
    model = ExampleModel.load(ExampleModel.default_dir("kle"))
    assert sorted(model.codes) == ["02.34.24", "09.19.00", "32.06.00"]
    assert due(min_new=1)[1] == ("kle", "aarhus", 1, "retrained")

    audited = events(db_engine)
    assert [a for a, _ in audited] == ["suggest.retrained"] * 3
    assert audited[-1][1] == {"taxonomy": "kle", "municipality": "aarhus", "new": 1,
                              "engine": "tfidf", "examples": 1, "codes": 1, "rejected": 1,
                              "ranker": None}
    for _, details in audited:  # numbers only, never a letter
        assert not any(text in str(details) for text, _ in TEXTS.values())


def test_a_broken_store_is_audited_and_the_others_still_retrain(db_engine: Engine,
                                                                casework_env: Path) -> None:
    ExampleStore().add(load_kle(), [example("a"), example("b")])
    odense = ExampleStore(municipality="odense")
    odense.folder.mkdir(parents=True)
    odense.path("kle").write_text("not json\n", encoding="utf-8")
    assert due() == [("kle", None, 2, "retrained"), ("kle", "odense", 0, "failed")]
    assert events(db_engine)[-1] == ("suggest.retrain_failed", {
        "taxonomy": "kle", "municipality": "odense", "error": "ValueError"})
    with pytest.raises(ValueError, match="min_new must be at least 1"):
        due(min_new=0)


@pytest.mark.usefixtures("prefect_api")
def test_runs_as_a_prefect_flow_and_fails_when_a_retrain_failed(db_engine: Engine,
                                                                casework_env: Path) -> None:
    ExampleStore().add(load_kle(), [example("a"), example("b")])
    [result] = scheduled_retrain(min_new=2, engine="tfidf")
    assert (result.status, result.examples) == ("retrained", 2)
    ExampleStore().add(load_kle(), [example("c")])
    with pytest.raises(RetrainFailed, match=r"kle \(installation\): EncoderError"):
        scheduled_retrain(min_new=1, engine="http")  # no embedding service configured
