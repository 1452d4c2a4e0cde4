"""Building-application screening end to end: case-system stand-in on loopback, real Prefect
API, real SQLite ledger; the letter is decided through the inbox's own decision code."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from screening_fixtures import (  # noqa: F401  (fixtures)
    case_server,
    cases,
    decide_in_inbox,
    finished,
    inbox_ready,
    start_in_thread,
    stats,
    wait_for_paused_task,
)
from sqlalchemy import select

from casework.db.models import LedgerEntry, SignoffTask
from casework.db.session import reading
from connectors.case_system import CaseSystemClient, NewCase
from flows.building_requirements import (
    CaseDocument,
    RequirementsError,
    check_documents,
    find_application_type,
    load_requirements,
)
from flows.case_system_settings import CaseSystemConfigError, case_system_connection
from flows.screening_letter import AI_NOTICE, danish_date, reply_deadline

CARPORT_CASE = "SAG-2026-0001"  # sample: application and site plan only


def complete_carport_case(client: CaseSystemClient) -> str:
    """A carport application with every required document; two recognised by name only."""
    case = client.create_case(NewCase(title="Byggetilladelse: carport, Skovvej 28",
                                     case_type="building_permit", department="Byg og Miljø"))
    files = [("Ansøgning om byggetilladelse", "application", "ansoegning.txt",
              b"Jeg soeger om en carport paa 30 m2."),
             ("Situationsplan", "site_plan", "situationsplan.txt", b"Placering 3 m fra skel."),
             ("Tegning 1", "attachment", "01_plantegning_carport.pdf", b"%PDF-1.7 drawing"),
             ("Facadetegninger nord og syd", "attachment", "tegning2.pdf", b"%PDF-1.7 drawing")]
    for title, doc_type, filename, content in files:
        client.add_document(case.id, title=title, document_type=doc_type, filename=filename,
                           content=content, content_type="application/pdf"
                           if filename.endswith(".pdf") else "text/plain")
    return case.id


# -- the check itself (no Prefect needed) ------------------------------------------------------

def doc(id_: int, title: str, filename: str, doc_type: str = "attachment",
        text: str | None = None) -> CaseDocument:
    return CaseDocument(id=id_, title=title, filename=filename, document_type=doc_type,
                        sha256=str(id_), text=text)


def test_documents_are_recognised_by_type_then_name_and_a_mere_mention_is_unsure() -> None:
    requirements = load_requirements()
    checks = {c.key: c for c in check_documents(requirements, "secondary_building", [
        doc(1, "Ansøgning", "a.txt", "application"),
        doc(2, "Bilag 2", "Facadetegning_øst.pdf"),
        doc(3, "Bemærkninger", "noter.txt", text="Situationsplanen eftersendes."),
    ])}
    assert checks["application"].status == "present"
    assert checks["application"].evidence[0].basis == "document_type"
    assert checks["facade_drawing"].status == "present"
    assert checks["facade_drawing"].evidence[0].basis == "name"
    assert checks["site_plan"].status == "unsure"
    assert checks["site_plan"].evidence[0].detail == "teksten nævner 'situationsplan'"
    assert checks["floor_plan"].status == "missing" and not checks["floor_plan"].evidence


def test_application_type_is_uncertain_when_two_types_are_named() -> None:
    requirements = load_requirements()
    one = find_application_type(requirements, ["Tilbygning til enfamiliehus, Lyngbakken 3"])
    assert (one.application_type, one.certain) == ("extension", True)
    two = find_application_type(requirements, ["Tilbygning med integreret garage"])
    assert two.application_type == "secondary_building" and not two.certain
    none = find_application_type(requirements, ["Ansøgning om noget"])
    assert none.application_type is None and not none.certain


def test_a_broken_requirements_file_is_named_with_its_field(tmp_path: Path) -> None:
    bad = tmp_path / "req.yaml"
    bad.write_text("version: '1'\ndocuments: {}\napplication_types:\n  x:\n    title: X\n"
                   "    keywords: [x]\n    required: [site_plan]\n")
    with pytest.raises(RequirementsError, match=r"req\.yaml: application_types.*site_plan"):
        load_requirements(bad)
    bad.write_text("version: [\n")
    with pytest.raises(RequirementsError, match=r"req\.yaml:2: not valid YAML"):
        load_requirements(bad)


def test_deadline_skips_the_weekend_and_is_written_in_danish() -> None:
    assert reply_deadline(date(2026, 3, 2), 12) == date(2026, 3, 16)  # a Saturday -> Monday
    assert danish_date(date(2026, 12, 7)) == "7. december 2026"


def test_a_url_without_a_token_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CASEWORK_CASE_SYSTEM_URL", raising=False)
    monkeypatch.delenv("CASEWORK_CASE_SYSTEM_TOKEN", raising=False)
    assert case_system_connection() is None
    with pytest.raises(CaseSystemConfigError, match="CASEWORK_CASE_SYSTEM_TOKEN"):
        case_system_connection("http://127.0.0.1:9")


# -- end to end ----------------------------------------------------------------------------------


def screen(case_id: str):  # type: ignore[no-untyped-def]
    """Queue one case (in the state of its documents) and run the robot on it alone."""
    from flows.building_screening import add_cases, building_screening
    from flows.case_system_settings import case_system_connection

    added = add_cases(case_system_connection(), [case_id])
    return building_screening(item_ids=added.ids)


@pytest.mark.usefixtures("prefect_api", "db_engine")
def test_complete_application_gets_a_screening_note_once(  # noqa: F811
        cases: CaseSystemClient, case_server) -> None:  # noqa: F811
    case_id = complete_carport_case(cases)
    [row] = screen(case_id).rows
    result = row.result or {}
    assert (result["status"], result["application_type"], result["missing"]) == (
        "note_filed", "secondary_building", [])
    [note] = cases.list_journal_notes(case_id)
    assert note.author == "robot:building_screening"
    assert "Facadetegning: filnavn eller titel indeholder 'facadetegning'" in note.text
    assert "Reference: byggescreening-" in note.text
    with reading() as session:
        rows = session.scalars(select(LedgerEntry).where(
            LedgerEntry.flow == "building_screening")).all()
    assert sorted((r.step, r.outcome) for r in rows) == [
        ("check_building", "completed"), ("file_screening_note", "completed"),
        ("look_up_building", "completed"), ("read_application", "completed"),
        ("screen_application", "completed")]
    assert all(r.case_ref == row.case_ref and case_id not in r.case_ref for r in rows)

    assert screen(case_id).rows == []  # same documents: the same item, finished
    assert len(cases.list_journal_notes(case_id)) == 1


@pytest.mark.usefixtures("prefect_api")
def test_incomplete_application_letter_is_amended_in_the_inbox_and_stored_once(
        cases: CaseSystemClient, case_server, inbox_ready) -> None:  # noqa: F811
    [parked] = screen(CARPORT_CASE).rows
    assert parked.state == "awaiting_signoff"
    with reading() as session:
        task = session.get(SignoffTask, parked.signoff_task_id)
    assert task.step == "draft_request_letter"
    payload = task.payload
    letter = payload["suggestion"]
    assert letter["missing"] == ["Plantegning", "Facadetegning"]
    assert "- Facadetegning: facadetegninger af alle berørte facader" in letter["text"]
    assert f"sag {CARPORT_CASE}" in letter["text"] and AI_NOTICE in letter["text"]
    assert "Situationsplan: present (dokumenttype site_plan" in " ".join(payload["why"])
    assert payload["sources"] == ["Bygningsreglement 2018 (BR18) § 10",
                                  "Københavns Kommune: materiale til byggeansøgningen"]
    assert task.department == "byggeri" and payload["signoff_reasons"] == [
        "policy mode is signoff"]
    assert cases.list_documents(CARPORT_CASE, document_type="draft_letter") == []

    amended = letter["text"].replace(AI_NOTICE, "").replace(
        "Kære ansøger", "Kære ansøger\n\nSom aftalt i telefonen den 3. marts:")
    decide_in_inbox(inbox_ready, "anna.byg", task, "amended", value={"text": amended},
                    reason="Henviser til telefonsamtalen")
    [row] = screen(CARPORT_CASE).rows  # the continuation, from the signed-off step
    result = row.result or {}
    assert result["status"] == "draft_letter_filed"
    assert result["missing"] == ["Plantegning", "Facadetegning"]

    [stored] = cases.list_documents(CARPORT_CASE, document_type="draft_letter")
    text = cases.document_content(CARPORT_CASE, stored.id).decode()
    assert "Som aftalt i telefonen den 3. marts:" in text
    assert text.rstrip().endswith(AI_NOTICE)  # the notice comes back if it was deleted
    with reading() as session:
        rows = {r.step: r for r in session.scalars(select(LedgerEntry).where(
            LedgerEntry.flow == "building_screening"))}
    assert rows["draft_request_letter"].outcome == "amended"
    assert rows["draft_request_letter"].human_seconds >= 0
    assert rows["file_draft_letter"].outcome == "completed"

    assert screen(CARPORT_CASE).rows == []  # the draft is ours: the documents did not change
    assert len(cases.list_documents(CARPORT_CASE, document_type="draft_letter")) == 1
    with reading() as session:
        assert len(session.scalars(select(SignoffTask)).all()) == 1  # nobody asked twice


@pytest.mark.usefixtures("prefect_api", "db_engine")
def test_open_building_cases_are_found_by_type_and_wait_when_recorded(
        cases: CaseSystemClient, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    from casework.settings import reset_settings_cache
    from flows.building_screening import building_screening

    monkeypatch.setenv("CASEWORK_SIGNOFF_WAIT", "record")
    reset_settings_cache()
    report = building_screening()  # every open building_permit case of the sample
    assert [r.state for r in report.rows] == ["awaiting_signoff"] * 2
    with reading() as session:
        missing = sorted(t.payload["suggestion"]["missing"] for t in session.scalars(
            select(SignoffTask).where(SignoffTask.step == "draft_request_letter")))
    assert missing == [
        ["Beskrivelse af byggearbejdet", "Situationsplan", "Facadetegning", "Snittegning",
         "Statisk dokumentation (konstruktionsklasse)", "BBR-oplysninger"],
        ["Plantegning", "Facadetegning"]]
    assert cases.list_documents("SAG-2026-0004", document_type="draft_letter") == []
    assert building_screening().rows == []  # run again: nothing new, nobody asked twice
    with reading() as session:
        assert len(session.scalars(select(SignoffTask)).all()) == 2


def test_the_request_letter_is_signed_with_the_departments_name() -> None:
    """The draft to the citizen is signed with the department's name from the directory, not
    its id ("Med venlig hilsen byggeri")."""
    from datetime import date

    from casework.case import Case
    from flows.building_screening import ApplicationFile, Screening, draft_request_letter

    application = ApplicationFile(title="Carport", department="byggeri", kle=None, documents=[])
    screening = Screening(reference="r", application_type="secondary_building",
                          application_title="Carport", type_certain=True, present=[],
                          missing=[], unsure=[], complete=False, confidence=1.0,
                          requirements_version="1")
    letter = draft_request_letter.fn.__wrapped__(Case(id="SAG-1"), application, screening, 14)
    lines = letter.text.splitlines()
    signed = lines[lines.index("Med venlig hilsen") + 1]
    assert signed == "Byggeri"  # the directory's name, not the id "byggeri"
    assert date.today() <= letter.reply_by


def test_the_request_letter_names_the_application_not_the_intake_robots_case_title() -> None:
    from datetime import date

    from flows.screening_letter import request_letter

    text = request_letter(case_id="SAG-1", case_title="Henvendelse: Ansøgning om carport",
                          application_title="en carport", missing=[("Situationsplan", "en plan")],
                          deadline=date(2026, 12, 14), sender="Byg og Miljø")
    first = text.splitlines()[0]
    assert first == ("Vedrørende: Din ansøgning om byggetilladelse – Ansøgning om carport "
                     "(sag SAG-1)")
