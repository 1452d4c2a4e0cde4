"""The case-system client against its stand-in over loopback: the calls the flows make."""

from __future__ import annotations

import pytest

from connectors.case_system import CaseSystemClient, NewCase
from connectors.http import NotFoundError, PermanentConnectorError
from standins import case_system
from standins.server import serving

KAREN = "120463-5017"


def test_get_case_and_its_documents(cases: CaseSystemClient) -> None:
    case = cases.get_case("SAG-2026-0001")
    assert case.case_type == "building_permit" and case.kle == "02.34.02"
    assert case.citizen_name == "Karen Holm Sørensen" and case.status == "open"
    assert KAREN not in repr(case) and "Karen" not in repr(case)

    documents = cases.list_documents(case.id)
    assert [d.document_type for d in documents] == ["application", "site_plan"]
    site_plans = cases.list_documents(case.id, document_type="site_plan")
    assert [d.title for d in site_plans] == ["Situationsplan"]
    assert cases.document_content(case.id, site_plans[0].id).decode().startswith("Carport")


def test_cases_for_citizen_open_only_by_default(cases: CaseSystemClient) -> None:
    fatima = "250885-5236"
    assert [c.id for c in cases.cases_for_citizen(fatima)] == ["SAG-2026-0003"]
    assert {c.id for c in cases.cases_for_citizen(fatima, status=None)} == {
        "SAG-2026-0003", "SAG-2025-0412"}
    assert cases.cases_for_citizen("290366-8564") == []


def test_create_case_then_file_a_letter_and_a_note(cases: CaseSystemClient) -> None:
    new = cases.create_case(NewCase(title="Ansøgning om byggetilladelse: tilbygning",
                                    case_type="building_permit", citizen_cpr="080977-5452",
                                    citizen_name="Lise Dam Andersen"))
    assert new.id.startswith("SAG-") and new.status == "open" and new.kle is None
    letter = cases.add_document(new.id, title="Brev fra borger", document_type="letter",
                                filename="brev.eml", content=b"From: x\r\n\r\nHej",
                                content_type="message/rfc822")
    assert letter.size == 14 and letter.document_type == "letter"
    note = cases.create_journal_note(new.id, "Brev modtaget og journaliseret.")
    assert note.author == "robot"
    assert [n.id for n in cases.list_journal_notes(new.id)] == [note.id]
    assert cases.cases_for_citizen("0809775452")[0].id == new.id


def test_journal_number_and_placement(cases: CaseSystemClient) -> None:
    case = cases.set_journal_number("SAG-2026-0004", "02.34.02")
    assert case.kle == "02.34.02"
    case = cases.set_department("SAG-2026-0004", "Byg og Miljø", team="Byggesag")
    assert (case.department, case.team, case.kle) == ("Byg og Miljø", "Byggesag", "02.34.02")


def test_unknown_case_is_not_found_with_a_clear_message(cases: CaseSystemClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        cases.get_case("SAG-1999-9999")
    assert str(caught.value) == "case system: GET /cases/SAG-1999-9999 -> 404: no case " \
                                "SAG-1999-9999"
    assert cases.find_case("SAG-1999-9999") is None


def test_closed_case_refuses_a_note(cases: CaseSystemClient) -> None:
    with pytest.raises(PermanentConnectorError) as caught:
        cases.create_journal_note("SAG-2025-0412", "Ny henvendelse.")
    assert caught.value.status == 409 and "closed" in str(caught.value)
    assert [n.text for n in cases.list_journal_notes("SAG-2025-0412")] == [
        "Sagen afsluttet, bevilling udløbet."]


def test_wrong_token_is_refused(case_server) -> None:
    with CaseSystemClient(case_server.url, "wrong") as client, \
            pytest.raises(PermanentConnectorError) as caught:
        client.get_case("SAG-2026-0001")
    assert caught.value.status == 401 and "bearer token" in str(caught.value)


def test_stand_in_persists_to_its_sqlite_file(tmp_path) -> None:
    db = str(tmp_path / "cases.sqlite")
    with serving(case_system.create_app(db, "t")) as server, \
            CaseSystemClient(server.url, "t") as client:
        note = client.create_journal_note("SAG-2026-0002", "Visitation aftalt.",
                                          idempotency_key="note-1")
    with serving(case_system.create_app(db, "t")) as server, \
            CaseSystemClient(server.url, "t") as client:
        assert [n.id for n in client.list_journal_notes("SAG-2026-0002")] == [note.id]
        again = client.create_journal_note("SAG-2026-0002", "Visitation aftalt.",
                                           idempotency_key="note-1")
        assert again == note
        assert len(client.list_journal_notes("SAG-2026-0002")) == 1


def test_case_id_is_quoted_into_the_path(cases: CaseSystemClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        cases.get_case("SAG 2026?x=1")
    assert caught.value.path == "/cases/SAG%202026%3Fx%3D1"
    assert str(caught.value).endswith("-> 404: no case SAG 2026?x=1")
