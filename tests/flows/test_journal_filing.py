"""Journal placement filed in the case system (stand-in on loopback, real Prefect API, real
SQLite): the KLE number and a journal note, once; a caseworker's corrected choice is filed by
the next run, kept as a labelled example, and after retraining the suggestion follows it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from screening_fixtures import (  # noqa: F401  (fixtures)
    case_server,
    cases,
    decide_in_inbox,
    inbox_ready,
    stats,
)
from sqlalchemy import func, select

from casework.db.models import AuditEvent, LedgerEntry, SignoffTask
from casework.db.session import reading
from casework.settings import reset_settings_cache
from casework.suggest.examples import ExampleStore, retrain
from connectors.case_system import CaseSystemClient

REPO = Path(__file__).resolve().parents[2]
CASE_ID = "SAG-2026-0004"  # sample: open, no journal number yet

LETTER = {
    "message_id": "JF-1", "case_id": CASE_ID, "department": "byggeri",
    "subject": "Ansøgning om nedrivning af udhus",
    "body": "Jeg vil gerne rive mit gamle udhus ned. Det er 20 m2 og ligger i haven.",
}


@pytest.fixture
def no_signoff_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The journal policy without its sign-off conditions: every suggestion is used."""
    folder = tmp_path / "policies"
    folder.mkdir()
    text = (REPO / "policies" / "journal_placement.yaml").read_text(encoding="utf-8")
    start = text.index("    signoff_when:")
    text = text[:start] + text[text.index("    signoff_by:"):]
    (folder / "journal_placement.yaml").write_text(text, encoding="utf-8")
    shutil.copy(REPO / "policies" / "journal_placement.scenarios.yaml", folder)
    monkeypatch.setenv("CASEWORK_POLICY_DIR", str(folder))
    reset_settings_cache()


@pytest.mark.usefixtures("prefect_api", "db_engine", "no_signoff_policy")
def test_used_suggestion_is_filed_once_and_not_learnt_from(cases: CaseSystemClient,  # noqa: F811
                                                           case_server) -> None:  # noqa: F811
    from flows.journal_placement import Letter, add_letters, journal_placement

    add_letters([Letter(**LETTER)])
    [row] = journal_placement().rows
    result = row.result or {}
    assert result["status"] == "completed" and result["kle"] and result["filed"]
    assert cases.get_case(CASE_ID).kle == result["kle"]
    [note] = cases.list_journal_notes(CASE_ID)
    assert f"journaliseret under KLE {result['kle']}" in note.text
    assert "brugt automatisk efter kommunens politik" in note.text
    with reading() as session:
        steps = {r.step: (r.outcome, r.kle_subject) for r in session.scalars(select(LedgerEntry))}
    assert steps["file_journal_number"] == ("completed", result["kle"])
    assert list(ExampleStore().iter("kle")) == []  # the robot's own choice teaches nothing

    before = stats(case_server)
    added = add_letters([Letter(**LETTER)])  # the same letter again: the same item
    assert added.new == [] and journal_placement().rows == []
    assert stats(case_server) == before


@pytest.mark.usefixtures("prefect_api", "db_engine")
def test_without_a_case_system_nothing_is_filed(cases: CaseSystemClient,  # noqa: F811
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.journal_placement import Letter, journal_placement

    monkeypatch.delenv("CASEWORK_CASE_SYSTEM_URL")
    monkeypatch.setenv("CASEWORK_SIGNOFF_WAIT", "record")
    reset_settings_cache()
    from flows.journal_placement import add_letters

    add_letters([Letter(**LETTER)])
    [row] = journal_placement().rows
    assert row.outcome in ("completed", "awaiting_signoff")
    assert not (row.result or {}).get("filed")
    assert cases.get_case(CASE_ID).kle is None and cases.list_journal_notes(CASE_ID) == []


@pytest.mark.parametrize("municipality", [None, "aarhus"])
@pytest.mark.usefixtures("prefect_api")
def test_amended_choice_is_filed_kept_as_example_and_learnt(
        cases: CaseSystemClient, case_server, inbox_ready,  # noqa: F811
        municipality: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """With CASEWORK_MUNICIPALITY the example is kept in that municipality's store, and the
    flow loads the model retrained from it (the shared store stays empty)."""
    from flows.journal_placement import Letter, _kle_suggester, add_letters, journal_placement

    if municipality:
        monkeypatch.setenv("CASEWORK_MUNICIPALITY", municipality)
        reset_settings_cache()
    store = ExampleStore(municipality=municipality)

    letter = Letter(**{**LETTER, "message_id": "JF-2", "sensitive": True})
    add_letters([letter])
    [parked] = journal_placement().rows  # sensitive: parked for a caseworker, nothing filed
    assert parked.state == "awaiting_signoff" and cases.list_journal_notes(CASE_ID) == []
    with reading() as session:
        task = session.get(SignoffTask, parked.signoff_task_id)
    suggested = task.payload["suggestion"]
    chosen = "02.34.24" if suggested["kle"] != "02.34.24" else "02.34.02"
    assert _kle_suggester().suggest([letter.subject + "\n" + letter.body])[0][0].code != chosen
    decide_in_inbox(inbox_ready, "anna.byg", task, "amended", reason="Forkert emne",
                    value={**suggested, "kle": chosen, "title": "Byggearbejder",
                           "amended_from": suggested["kle"]})
    [row] = journal_placement().rows  # the continuation: from the signed-off step on
    assert (row.outcome, (row.result or {}).get("kle")) == ("amended", chosen)
    with reading() as session:  # the suggestion was not made (nor counted) again
        suggest_rows = session.scalar(select(func.count()).select_from(LedgerEntry).where(
            LedgerEntry.step == "suggest_journal"))
        decided = session.scalars(select(LedgerEntry).where(
            LedgerEntry.step == "suggest_journal")).one()
    assert suggest_rows == 1 and decided.kle_subject == chosen

    assert cases.get_case(CASE_ID).kle == chosen
    [note] = cases.list_journal_notes(CASE_ID)
    assert f"rettet af en sagsbehandler (robottens forslag var {suggested['kle']})" in note.text
    [example] = store.iter("kle")
    if municipality:
        assert list(ExampleStore().iter("kle")) == []
    assert (example.id, example.code) == ("JF-2", chosen)
    assert (example.suggested, example.decision) == (suggested["kle"], "amended")
    assert example.text.startswith("Ansøgning om nedrivning af udhus")
    with reading() as session:
        event = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "suggest.example_recorded")).one()
    assert event.details["code"] == chosen and "text" not in event.details

    retrain("kle", store=store)  # what `casework suggest retrain kle` does
    top = _kle_suggester().suggest([letter.subject + "\n" + letter.body])[0][0]
    assert top.code == chosen  # the running flow picks up the retrained model


@pytest.mark.usefixtures("prefect_api")
def test_rejected_suggestion_is_kept_as_negative_evidence_and_not_learnt(
        cases: CaseSystemClient, case_server, inbox_ready) -> None:  # noqa: F811
    """A rejection names the wrong code, not the right one: it is stored (decision
    "rejected", code = the suggestion ruled out), nothing is filed, and retraining does not
    teach the rejected code."""
    from flows.journal_placement import Letter, add_letters, journal_placement

    letter = Letter(**{**LETTER, "message_id": "JF-3", "sensitive": True})
    add_letters([letter])
    [parked] = journal_placement().rows
    with reading() as session:
        task = session.get(SignoffTask, parked.signoff_task_id)
    suggested = task.payload["suggestion"]["kle"]
    decide_in_inbox(inbox_ready, "anna.byg", task, "rejected", reason="Forkert emne")
    [row] = journal_placement().rows
    assert row.outcome == "rejected" and cases.list_journal_notes(CASE_ID) == []
    [example] = ExampleStore().iter("kle")
    assert (example.id, example.code, example.suggested, example.decision) == (
        "JF-3", suggested, suggested, "rejected")
    assert ExampleStore().confirmed("kle") == []
    with reading() as session:
        event = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "suggest.example_recorded")).one()
    assert event.details == {"taxonomy": "kle", "code": suggested, "decision": "rejected"}
    with pytest.raises(ValueError, match=r"no confirmed examples .*only 1 rejection"):
        retrain("kle")
