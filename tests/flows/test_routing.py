"""Routing end to end: cases in the case-system stand-in, a router trained on the bundled
letters, a real Prefect API and ledger rows; sign-off for unsure and sensitive letters."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flow_helpers import admin, letter_from
from sqlalchemy import select

from casework.db.models import LedgerEntry, SignoffTask
from casework.db.session import reading
from connectors.case_system import CaseSystemClient, NewCase
from flows.routing import load_router, reason_words, routing
from standins.server import LoopbackServer

pytestmark = pytest.mark.usefixtures("prefect_api", "systems_env")


@pytest.fixture
def model(router_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CASEWORK_ROUTER_MODEL", str(router_dir))
    return router_dir


def new_case(server: LoopbackServer, title: str, letter_subject: str, letter_text: str,
             number: int) -> str:
    """A case as intake leaves it: a title, the letter as delivered, no department yet."""
    from flow_helpers import TOKEN

    with CaseSystemClient(server.url, TOKEN) as client:
        case = client.create_case(NewCase(title=title, case_type="inquiry"))
        client.add_document(case.id, title="Brev fra borger", document_type="letter",
                            filename="brev.eml", content_type="message/rfc822",
                            content=letter_from("borger", "En Borger", letter_subject,
                                                letter_text, number))
    return case.id


def department_of(server: LoopbackServer, case_id: str) -> str | None:
    return admin(server, "GET", f"/cases/{case_id}")["department"]


def test_confident_cases_are_placed_and_unsure_or_sensitive_wait(
        model: Path, case_server: LoopbackServer) -> None:
    building = new_case(case_server, "Henvendelse: carport",
                        "Ansøgning om byggetilladelse til carport",
                        "Jeg søger om byggetilladelse til en carport og et redskabsrum. "
                        "Situationsplan og facadetegning er vedhæftet.", 1)
    vague = new_case(case_server, "Henvendelse", "Spørgsmål", "Hej, jeg har et spørgsmål.", 2)
    sensitive = new_case(case_server, "Henvendelse: bekymring",
                         "Underretning om et barn",
                         "Jeg vil gerne lave en underretning om et barn i opgangen, som ofte er "
                         "alene hjemme om aftenen.", 3)

    results = routing(case_ids=[building, vague, sensitive])
    assert [r.status for r in results] == ["completed", "awaiting_signoff", "awaiting_signoff"]
    assert results[0].department == "byggeri" and results[0].confidence >= 0.6
    assert department_of(case_server, building) == "byggeri"
    assert department_of(case_server, vague) is None
    assert department_of(case_server, sensitive) is None

    with reading() as session:
        tasks = {t.case_ref: t for t in session.scalars(select(SignoffTask))}
        rows = list(session.scalars(select(LedgerEntry).where(LedgerEntry.flow == "routing")))
    vague_task = tasks[results[1].case_ref]
    assert vague_task.payload["signoff_reasons"][0].startswith("signoff_when: confidence < 0.6")
    assert vague_task.payload["suggestion"]["alternatives"]
    sensitive_task = tasks[results[2].case_ref]
    assert "signoff_when: case.sensitive" in sensitive_task.payload["signoff_reasons"]
    assert sensitive_task.payload["suggestion"]["department"] == "born-unge"
    assert sorted(r.step for r in rows) == ["place_case"] + ["suggest_department"] * 3

    again = routing(case_ids=[vague, sensitive])  # still waiting: no new task or ledger row
    assert [r.status for r in again] == ["awaiting_signoff"] * 2
    with reading() as session:
        assert len(list(session.scalars(select(SignoffTask)))) == 2


def test_without_case_ids_every_unplaced_open_case_is_routed(
        model: Path, case_server: LoopbackServer) -> None:
    # The seeded SAG-2026-0004 (a building permit for an extension) has no department.
    results = routing()
    assert len(results) == 1 and results[0].status == "completed"
    assert department_of(case_server, "SAG-2026-0004") == "byggeri"
    assert routing() == []


def test_a_refused_placement_leaves_the_case_unplaced(
        model: Path, case_server: LoopbackServer, inject: Callable) -> None:
    inject(case_server, [{"method": "PUT", "path": "/cases/SAG-2026-0004/placement",
                          "status": 409}])
    [result] = routing(case_ids=["SAG-2026-0004"])
    assert result.status == "failed"
    assert result.error == ("case system: PUT /cases/SAG-2026-0004/placement -> 409: "
                            "injected fault")
    assert department_of(case_server, "SAG-2026-0004") is None


def test_reason_words_are_words_of_the_letter(router_dir: Path) -> None:
    router = load_router(router_dir)
    text = "Vi søger vuggestueplads til vores datter fra august"
    [ranked] = router.predict([text])
    words = reason_words(router, text, ranked[0].code)
    assert ranked[0].code == "born-unge"
    assert words and all(w.split()[0] in text.lower() for w in words)
    assert "vuggestueplads" in words
