"""Amended values and free text, attacked: unknown KLE codes, wrong types, NaN/Infinity,
unknown fields, 1 MB values and reasons. Nothing is stored or audited unless valid."""

from __future__ import annotations

import pytest
from inbox_helpers import decide, make_task
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from casework.db.models import AuditEvent, SignoffTask
from casework.db.session import reading

MB = 1_000_000


class Placement(BaseModel):
    kle: str
    title: str
    amount: float = Field(default=0, ge=0)
    note: str = ""
    tags: list[str] = []


def _state(engine, task_id):
    with reading(engine) as s:
        task = s.get(SignoffTask, task_id)
        return task.status, task.decision_value, s.scalar(select(func.count())
                                                          .select_from(AuditEvent))


@pytest.fixture
def model_task(engine):
    return make_task(engine, suggestion=Placement(kle="02.34.02", title="Byggetilladelse",
                                                  amount=1.0))


@pytest.mark.parametrize(("value_json", "message"), [
    ('{"kle": "99.99.99"}', "Ukendt KLE-nummer"),
    ('{"title": 5}', "Feltet »title«"),
    ('{"amount": [1, 2]}', "Feltet »amount«"),
    ('{"amount": "mange"}', "Feltet »amount«"),
    ('{"amount": -1}', "Feltet »amount«"),
    ('{"tags": "ikke en liste"}', "Feltet »tags«"),
    ('{"amount": NaN}', "gyldigt JSON-objekt"),
    ('{"amount": Infinity}', "gyldigt JSON-objekt"),
    ('{"amount": -Infinity}', "gyldigt JSON-objekt"),
    ('{"amount": 1e400}', "gyldigt JSON-objekt"),
    ('[1, 2]', "gyldigt JSON-objekt"),
    ('{"evil": 1}', "Feltet »evil« findes ikke"),
    ('{"note": "' + "x" * MB + '"}', "Teksten er for lang"),
    ('{"tags": ["' + "x" * 3000 + '"]}', "Teksten er for lang"),
    ("[" * 5000 + "]" * 5000, "gyldigt JSON-objekt"),
])
def test_invalid_amendment_is_refused_before_anything_is_stored(as_user, engine, model_task,
                                                                 value_json, message):
    before = _state(engine, model_task)
    response = decide(as_user("anna.byg"), model_task, "amended", reason="rettet",
                      value_json=value_json)
    assert response.status_code == 400, response.status_code
    assert message in response.text
    assert _state(engine, model_task) == before  # defect 5: stored, audited, failed later


def test_valid_amendment_is_stored(as_user, engine, model_task):
    response = decide(as_user("anna.byg"), model_task, "amended", reason="rettet",
                      value_json='{"amount": 3.5, "kle": "02.00.05"}')
    assert response.status_code == 303
    status, value, _ = _state(engine, model_task)
    assert status == "decided" and value == {"amount": 3.5, "kle": "02.00.05"}
    merged = Placement.model_validate({**Placement(kle="02.34.02", title="B").model_dump(),
                                       **value})
    assert merged.amount == 3.5  # what the runtime's merge will make of it


def test_tasks_without_a_stored_schema_keep_field_types(as_user, engine, task_factory):
    task_id = task_factory()  # a plain dict suggestion: kle, title, confidence, why, ...
    anna = as_user("anna.byg")
    for value_json in ('{"title": 5}', '{"confidence": "høj"}', '{"why": "ikke en liste"}',
                       '{"kle": "99.99.99"}'):
        assert decide(anna, task_id, "amended", reason="r",
                      value_json=value_json).status_code == 400
    assert _state(engine, task_id)[0] == "awaiting"


def test_one_megabyte_reason_is_refused_not_stored(as_user, engine, task_factory):
    task_id = task_factory()
    before = _state(engine, task_id)
    response = decide(as_user("anna.byg"), task_id, "rejected", reason="x" * MB)
    assert response.status_code == 400
    assert "højst 2000 tegn" in response.text
    assert _state(engine, task_id) == before
    english = decide(as_user("bo.byg", **{"Accept-Language": "en"}), task_id, "rejected",
                     reason="x" * 2001)
    assert "at most 2000 characters" in english.text


def test_result_schema_is_stored_on_the_task(engine, model_task):
    with reading(engine) as s:
        schema = s.get(SignoffTask, model_task).payload["result_schema"]
    assert schema["properties"]["amount"]["minimum"] == 0


class Move(BaseModel):
    address: str | None = Field(json_schema_extra={"labels": {
        "da": "Ny adresse", "nb": "Ny adresse (nb)", "en": "New address"}})
    floor: str | None = None
    confidence: float = 0.5


def test_a_robots_own_field_labels_name_its_fields_in_each_language(engine):
    """A new robot names its result fields (casework.case.labels): the form and the
    description use her language's label, never the field name; unlabelled fields fall back to
    the inbox's word for "other"."""
    from casework.case import labels
    from casework.inbox import forms
    from casework.inbox.present import Present

    assert labels(da="a", nb="b", en="c") == {"labels": {"da": "a", "nb": "b", "en": "c"}}
    schema = Move.model_json_schema(mode="validation")
    value = {"address": "Ågade 12, 8600 Silkeborg", "floor": "2. tv", "confidence": 0.5}
    for lang, label in (("da", "Ny adresse"), ("nb", "Ny adresse (nb)"), ("en", "New address")):
        fmt = Present(lang)
        fields = {f.name: f.label for f in forms.build(schema, value, fmt)}
        assert fields["address"] == label
        assert fields["floor"] == fmt.t("fact_other")
        rows = dict(forms.describe(value, fmt, schema))
        assert rows[label] == "Ågade 12, 8600 Silkeborg"
        assert "address" not in rows and "floor" not in rows


def test_a_date_stored_as_json_is_shown_in_the_readers_format():
    from casework.inbox.present import Present

    assert Present("da").value("reply_by", "2026-12-14") == "14.12.2026"
    assert Present("nb").value("reply_by", "2026-12-14") == "14.12.2026"
    assert Present("en").value("reply_by", "2026-12-14") == "14 Dec 2026"
    assert Present("da").value("note", "2026-13-40") == "2026-13-40"  # not a date: as written
