"""One contract for every implementation of ``CaseSystem``: the stand-in REST client and the
SBSYS client, each against its loopback server. Same calls, same expectations, including a
500 after the system stored a document (nothing lost, nothing twice) and a dead server."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from connectors.case_system import CaseSystemClient, NewCase
from connectors.http import NotFoundError, RetryPolicy, TransientConnectorError
from connectors.interfaces import CaseSystem
from connectors.sbsys import SbsysClient
from standins import case_system, sbsys
from standins.server import LoopbackServer, serving

TOKEN = "test-token"
LISE = "080977-5452"  # a sample citizen both stand-ins know
FAST = RetryPolicy(attempts=4, initial_wait=0.01, max_wait=0.05, jitter=0.01,
                   retry_after_cap=0.2)


@dataclass
class Implementation:
    name: str
    client: CaseSystem
    server: LoopbackServer
    headers: dict[str, str]
    count: Callable[[], dict[str, int]]

    def inject(self, faults: list[dict[str, Any]]) -> None:
        httpx.post(self.server.url + "/_faults", json=faults,
                   headers=self.headers).raise_for_status()


def sbsys_client(url: str, **changes: Any) -> SbsysClient:
    settings = {"token_url": url + "/token", "client_id": sbsys.CLIENT_ID,
                "client_secret": sbsys.CLIENT_SECRET, "username": sbsys.USERNAME,
                "password": sbsys.PASSWORD, "templates": {"building_permit": 1, "general": 2},
                "caseworker_id": 17, "timeout": 2.0, "retry": FAST}
    return SbsysClient(url, **{**settings, **changes})


@pytest.fixture(params=["standin", "sbsys"])
def impl(request: pytest.FixtureRequest) -> Iterator[Implementation]:
    if request.param == "standin":
        with serving(case_system.create_app(None, TOKEN)) as server, \
                CaseSystemClient(server.url, TOKEN, timeout=2.0, retry=FAST) as client:
            headers = {"Authorization": f"Bearer {TOKEN}"}
            yield Implementation("standin", client, server, headers, lambda: httpx.get(
                server.url + "/admin/stats", headers=headers).json())
    else:
        with serving(sbsys.create_app()) as server, sbsys_client(server.url) as client:
            headers = {"Authorization": f"Bearer {client.auth.token()}"}
            yield Implementation("sbsys", client, server, headers, lambda: httpx.get(
                server.url + "/_admin/stats", headers=headers).json())


def new_case(impl: Implementation, key: str | None = None) -> str:
    new = NewCase(title="Ansøgning om carport", case_type="building_permit",
                  citizen_cpr=LISE, citizen_name="Lise Dam Andersen")
    case = impl.client.create_case(new, idempotency_key=key)
    return case.id


def test_fits_the_interface(impl: Implementation) -> None:
    assert isinstance(impl.client, CaseSystem)


def test_case_life_create_search_place_and_journalise(impl: Implementation) -> None:
    c = impl.client
    case = c.get_case(new_case(impl))
    assert (case.title, case.case_type, case.status) == ("Ansøgning om carport",
                                                         "building_permit", "open")
    assert case.citizen_cpr == LISE and LISE not in repr(case)
    assert case.id in [x.id for x in c.cases_for_citizen(LISE.replace("-", ""))]
    assert case.id in [x.id for x in c.list_cases(status="open", case_type="building_permit")]

    assert c.set_journal_number(case.id, "02.34.02-G01").kle == "02.34.02-G01"
    placed = c.set_department(case.id, "Byg og Miljø", team="Byggesag")
    assert (placed.department, placed.team, placed.kle) == ("Byg og Miljø", "Byggesag",
                                                           "02.34.02-G01")
    assert case.id in [x.id for x in c.list_cases(department="Byg og Miljø")]

    letter = c.add_document(case.id, title="Brev fra borger", document_type="letter",
                            filename="brev.eml", content=b"From: x\r\n\r\nHej",
                            content_type="message/rfc822")
    plan = c.add_document(case.id, title="Situationsplan", document_type="site_plan",
                          filename="plan.pdf", content=b"%PDF-1.4 plan",
                          content_type="application/pdf")
    assert (letter.size, letter.filename, letter.document_type) == (14, "brev.eml", "letter")
    assert [d.id for d in c.list_documents(case.id)] == [letter.id, plan.id]
    assert [d.id for d in c.list_documents(case.id, document_type="site_plan")] == [plan.id]
    assert c.get_document(case.id, plan.id).title == "Situationsplan"
    assert c.document_content(case.id, plan.id) == b"%PDF-1.4 plan"

    note = c.create_journal_note(case.id, "Brev modtaget.\nJournaliseret af robot.")
    assert [(n.id, n.text) for n in c.list_journal_notes(case.id)] == [
        (note.id, "Brev modtaget.\nJournaliseret af robot.")]


def test_unknown_case_is_not_found(impl: Implementation) -> None:
    with pytest.raises(NotFoundError):
        impl.client.get_case("9999999")
    assert impl.client.find_case("9999999") is None


def test_same_key_twice_makes_one_of_each(impl: Implementation) -> None:
    c = impl.client
    first = new_case(impl, key="intake:<a@b>:case")
    assert new_case(impl, key="intake:<a@b>:case") == first
    docs = [c.add_document(first, title="Brev", document_type="letter", filename="b.eml",
                           content=b"hej", idempotency_key="intake:<a@b>:letter")
            for _ in range(2)]
    notes = [c.create_journal_note(first, "Modtaget", idempotency_key="intake:<a@b>:note")
             for _ in range(2)]
    assert docs[0].id == docs[1].id and notes[0].id == notes[1].id
    assert len(c.list_documents(first)) == 1 and len(c.list_journal_notes(first)) == 1


def test_500_after_the_document_was_stored_gives_one_document(impl: Implementation) -> None:
    case_id = new_case(impl)
    before = impl.count()["documents"]
    path = "/cases/*/documents" if impl.name == "standin" else "/api/dokument/journaliser"
    impl.inject([{"method": "POST", "path": path, "status": 500, "when": "after"}])
    doc = impl.client.add_document(case_id, title="Brev", document_type="letter",
                                   filename="b.eml", content=b"hej",
                                   idempotency_key="intake:<x@y>:letter")
    assert impl.count()["documents"] == before + 1
    assert [d.id for d in impl.client.list_documents(case_id)] == [doc.id]


def test_500_before_the_document_was_stored_is_retried(impl: Implementation) -> None:
    case_id = new_case(impl)
    path = "/cases/*/documents" if impl.name == "standin" else "/api/dokument/journaliser"
    impl.inject([{"method": "POST", "path": path, "status": 503, "times": 2}])
    impl.client.add_document(case_id, title="Brev", document_type="letter", filename="b.eml",
                             content=b"hej", idempotency_key="k-503")
    assert len(impl.client.list_documents(case_id)) == 1


def test_a_system_down_throughout_is_a_transient_error_creating_nothing(
        impl: Implementation) -> None:
    case_id = new_case(impl)
    before = impl.count()["documents"]
    path = "/cases/*/documents" if impl.name == "standin" else "/api/dokument/journaliser"
    impl.inject([{"method": "POST", "path": path, "status": 503, "times": 50}])
    with pytest.raises(TransientConnectorError) as caught:
        impl.client.add_document(case_id, title="Brev", document_type="letter",
                                 filename="b.eml", content=b"hej", idempotency_key="k-down")
    assert "503" in str(caught.value)
    httpx.delete(impl.server.url + "/_faults", headers=impl.headers)
    assert impl.count()["documents"] == before


def test_unreachable_server_is_named() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    for client in (CaseSystemClient(url, TOKEN, timeout=0.5, retry=FAST), sbsys_client(url)):
        with client, pytest.raises(TransientConnectorError) as caught:
            client.get_case("1")
        assert "ConnectError" in str(caught.value) or "unreachable" in str(caught.value)
