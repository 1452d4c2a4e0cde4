"""Intake end to end: drop folder → case system and registry stand-ins over loopback, through a
real Prefect API, writing ledger rows. Each letter is a work item: crash and re-run, faults on
one letter (failed, retried later, then handed to a person), sign-off parks the letter."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flow_helpers import TOKEN, admin, letter_from
from sqlalchemy import select

import connectors.http
from casework import ledger
from casework.db.models import LedgerEntry, SignoffTask, WorkItem
from casework.db.session import reading, transaction
from casework.items import queue
from casework.items.keys import message_key
from casework.items.processing import ItemRow, ItemsReport
from casework.items.states import ItemState
from casework.ledger import Outcome
from casework.privacy import pseudonymise
from casework.settings import reset_settings_cache
from connectors.http import ConnectorError
from connectors.mailbox import DropFolderMailbox
from flows.intake import intake
from flows.letter_text import letter_key
from standins.mail_drop import MAIL_DOMAIN, build_message, deliver, sample_letters
from standins.server import LoopbackServer

pytestmark = pytest.mark.usefixtures("prefect_api", "systems_env")

SAMPLE_CASES = 5  # seeded in the case-system stand-in
CPRS = ("120463-5017", "030271-6129", "080977-5452", "290366-8564", "170692-7348")
KAREN, MADS, LISE, PETER = (f"<sample-{n}@{MAIL_DOMAIN}>" for n in range(1, 5))


@pytest.fixture
def retry_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failed letter is due again at the next run (the default waits 30 s)."""
    monkeypatch.setenv("CASEWORK_ITEM_RETRY_SECONDS", "0")
    reset_settings_cache()


def ledger_rows() -> list[LedgerEntry]:
    with reading() as session:
        return list(session.scalars(select(LedgerEntry).where(LedgerEntry.flow == "intake")))


def signoff_tasks() -> list[SignoffTask]:
    with reading() as session:
        return list(session.scalars(select(SignoffTask).where(SignoffTask.flow == "intake")))


def documents(server: LoopbackServer, case_id: str) -> list[dict[str, Any]]:
    return admin(server, "GET", f"/cases/{case_id}/documents")


def notes(server: LoopbackServer, case_id: str) -> list[dict[str, Any]]:
    return admin(server, "GET", f"/cases/{case_id}/notes")


def item_id(message_id: str) -> str:
    """The work item of a letter (its key is the Message-ID)."""
    with reading() as session:
        return session.scalars(select(WorkItem.id).where(
            WorkItem.flow == "intake", WorkItem.key == message_key(message_id))).one()


def rows_by_letter(report: ItemsReport, *message_ids: str) -> dict[str, ItemRow]:
    """The report's rows by Message-ID (rows come in completion order); every row is one of
    ``message_ids`` and each of them has exactly one row."""
    by_item = {row.item_id: row for row in report.rows}
    assert len(by_item) == len(report.rows)
    wanted = {item_id(m): m for m in message_ids}
    assert set(by_item) == set(wanted)
    return {wanted[i]: row for i, row in by_item.items()}


def deliver_samples_numbered(maildir: Path, *message_ids: str) -> None:
    """Deliver only the sample letters named (Message-IDs as ``deliver_samples`` gives them)."""
    for number, letter in enumerate(sample_letters(), start=1):
        message_id = f"<sample-{number}@{MAIL_DOMAIN}>"
        if message_id in message_ids:
            deliver(maildir, build_message(replace(letter, message_id=message_id)))


def assert_a_rerun_does_nothing(server: LoopbackServer, stats: Callable) -> None:
    """With no new letter and no decision, a run takes nothing, asks nobody, counts nothing."""
    before = (stats(server), len(ledger_rows()), len(signoff_tasks()))
    assert intake().rows == []
    assert (stats(server), len(ledger_rows()), len(signoff_tasks())) == before


def assert_connector_failure(row: ItemRow, message: str) -> None:
    """The row names the connector's error class; the item keeps the message (path, status),
    which begins with ``message``."""
    assert row.state == ItemState.FAILED and row.outcome == "failed" and row.result is None
    error_class = getattr(connectors.http, row.error or "", None)
    assert isinstance(error_class, type) and issubclass(error_class, ConnectorError)
    item = queue.get_item(row.item_id)
    assert item.state == "failed" and item.attempts == 1
    assert (item.last_error or "").startswith(f"{row.error}: {message}")


def test_sample_letters_are_filed_on_their_cases(
        deliver_samples: Callable, case_server: LoopbackServer, stats: Callable,
        maildir: Path, caplog: pytest.LogCaptureFixture) -> None:
    deliver_samples()
    before = stats(case_server)
    with caplog.at_level(logging.DEBUG):
        report = intake()

    rows = rows_by_letter(report, KAREN, MADS, LISE, PETER)
    assert report.counts == {"done": 4}
    assert {m: r.result["status"] for m, r in rows.items() if r.result} == dict.fromkeys(
        (KAREN, MADS, LISE, PETER), "filed")
    assert {m: r.result["new_case"] for m, r in rows.items() if r.result} == {
        KAREN: False, MADS: False, LISE: True, PETER: True}
    assert all(r.result and r.result["acknowledged"] for r in rows.values())
    assert {m: r.result["letter"] for m, r in rows.items() if r.result} == {
        m: letter_key(m)[:12] for m in rows}
    assert rows[KAREN].case_ref == pseudonymise("SAG-2026-0001")
    after = stats(case_server)
    # Karen and Lise send two attachments each: 4 letters + 4 attachments; one note per letter.
    assert after["cases"] - before["cases"] == 2
    assert after["documents"] - before["documents"] == 8
    assert after["journal_notes"] - before["journal_notes"] == 4
    assert DropFolderMailbox(maildir).fetch_pending() == []

    # Karen's letter names her case: filed there, with the facade drawing typed for screening.
    karen = [d for d in documents(case_server, "SAG-2026-0001") if d["title"] != "Situationsplan"]
    kinds = sorted(d["document_type"] for d in karen)
    assert kinds == ["application", "attachment", "facade_drawing", "letter"]
    # Lise had no open case: a new building case with the property looked up in the registry.
    lise = next(c for c in admin(case_server, "GET", "/cases", params={"status": "open"})
                if c["citizen_name"] == "Lise Dam Andersen")
    assert lise["case_type"] == "building_permit"
    assert rows[LISE].case_ref == pseudonymise(lise["id"])
    [note] = notes(case_server, lise["id"])
    assert "BFE 5331908" in note["text"] and "Lokalplan 212" in note["text"]
    assert note["author"] == "robot:intake"
    assert not any(cpr in note["text"] for cpr in CPRS)

    ledger_before = ledger_rows()
    steps = sorted(row.step for row in ledger_before)
    assert steps.count("read_letter") == 4 and steps.count("file_letter") == 4
    assert steps.count("open_case") == 2 and len(ledger_before) == 18
    assert {row.outcome for row in ledger_before} == {"completed"}
    assert all(row.baseline_minutes > 0 for row in ledger_before)
    assert pseudonymise("SAG-2026-0001") in {row.case_ref for row in ledger_before}
    assert not any(row.case_ref.startswith("SAG-") for row in ledger_before)
    assert signoff_tasks() == []

    # CPR numbers never reach the logs (ours, Prefect's) nor what the flow run returns.
    assert caplog.records  # the capture saw the run's logging
    assert not any(cpr in caplog.text for cpr in CPRS)
    assert not any(cpr in report.model_dump_json() for cpr in CPRS)

    assert_a_rerun_does_nothing(case_server, stats)


def test_rerun_after_a_crash_creates_no_duplicates(
        case_server: LoopbackServer, stats: Callable, inject: Callable, maildir: Path,
        retry_at_once: None) -> None:
    """The first run dies for Lise's letter after her case and documents were created (every
    answer to the note is lost on the wire); the re-run finds them instead of making copies.
    Peter's letter (which also opens a case) stays out, so Lise's case is SAG-2026-0005."""
    deliver_samples_numbered(maildir, KAREN, MADS, LISE)
    before = stats(case_server)
    inject(case_server, [{"method": "POST", "path": "/cases/SAG-2026-0005/notes",
                          "drop": True, "when": "after", "times": 3}])
    first = intake()
    rows = rows_by_letter(first, KAREN, MADS, LISE)
    assert {m: r.state for m, r in rows.items()} == {
        KAREN: ItemState.DONE, MADS: ItemState.DONE, LISE: ItemState.FAILED}
    assert_connector_failure(rows[LISE], "case system: POST /cases/SAG-2026-0005/notes")
    assert rows[LISE].case_ref == pseudonymise("SAG-2026-0005")  # her case was known
    [pending] = DropFolderMailbox(maildir).fetch_pending()  # Lise's letter is still there
    assert pending.message_id == LISE
    middle = stats(case_server)
    assert middle["cases"] - before["cases"] == 1  # her case exists already
    assert admin(case_server, "GET", "/cases/SAG-2026-0005")["citizen_name"] == (
        "Lise Dam Andersen")
    failed = [row for row in ledger_rows() if row.outcome == "failed"]
    assert [row.step for row in failed] == ["file_letter"] and failed[0].error

    second = intake()
    [row] = second.rows
    assert row.item_id == rows[LISE].item_id and row.state == ItemState.DONE
    assert row.result and row.result["status"] == "filed" and row.result["new_case"]
    assert row.result["acknowledged"]
    after = stats(case_server)
    assert after["cases"] == middle["cases"]
    # Karen 1 + 2 attachments, Mads 1, Lise 1 + 2 attachments; one note each.
    assert after["documents"] - before["documents"] == 7
    assert after["journal_notes"] - before["journal_notes"] == 3
    assert len(notes(case_server, "SAG-2026-0005")) == 1
    assert len(documents(case_server, "SAG-2026-0005")) == 3
    assert DropFolderMailbox(maildir).fetch_pending() == []
    # The retry ran only what had not finished: the failed row became the completed one.
    steps = sorted(r.step for r in ledger_rows())
    assert steps.count("open_case") == 1 and steps.count("file_letter") == 3
    assert steps.count("read_letter") == 3 and len(steps) == 13
    assert {r.outcome for r in ledger_rows()} == {"completed"}
    assert queue.get_item(row.item_id).last_error is None

    assert_a_rerun_does_nothing(case_server, stats)


def test_refused_and_malformed_answers_leave_that_letter_for_retry(
        deliver_samples: Callable, case_server: LoopbackServer, inject: Callable,
        stats: Callable, maildir: Path, retry_at_once: None) -> None:
    deliver_samples()
    karen_docs = documents(case_server, "SAG-2026-0001")
    mads_docs = documents(case_server, "SAG-2026-0002")
    inject(case_server, [
        # Karen's letter names her case; the case system answers without the case's status.
        {"method": "GET", "path": "/cases/SAG-2026-0001", "omit_fields": ["status"]},
        # Mads's letter is refused when filed.
        {"method": "POST", "path": "/cases/SAG-2026-0002/documents", "status": 422},
    ])
    report = intake()

    rows = rows_by_letter(report, KAREN, MADS, LISE, PETER)
    assert {m: r.state for m, r in rows.items()} == {
        KAREN: ItemState.FAILED, MADS: ItemState.FAILED, LISE: ItemState.DONE,
        PETER: ItemState.DONE}
    assert_connector_failure(rows[KAREN], "case system: GET /cases/SAG-2026-0001 -> 200: "
                                          "malformed answer: field 'status': Field required")
    assert_connector_failure(rows[MADS], "case system: POST /cases/SAG-2026-0002/documents "
                                         "-> 422: injected fault")
    assert documents(case_server, "SAG-2026-0001") == karen_docs
    assert documents(case_server, "SAG-2026-0002") == mads_docs
    assert notes(case_server, "SAG-2026-0002") == []
    pending = DropFolderMailbox(maildir).fetch_pending()  # not acknowledged
    assert sorted(p.sender_name or "" for p in pending) == ["Karen Holm Sørensen",
                                                            "Mads Nørgaard Petersen"]

    middle = stats(case_server)
    retry = intake()  # the faults are spent: both letters go through now, once
    rows = rows_by_letter(retry, KAREN, MADS)
    assert {m: (r.state, r.result and r.result["status"]) for m, r in rows.items()} == {
        KAREN: (ItemState.DONE, "filed"), MADS: (ItemState.DONE, "filed")}
    after = stats(case_server)
    assert after["documents"] - middle["documents"] == 4  # Karen 1 + 2 attachments, Mads 1
    assert after["journal_notes"] - middle["journal_notes"] == 2
    assert after["cases"] == middle["cases"]
    assert len(notes(case_server, "SAG-2026-0002")) == 1
    assert DropFolderMailbox(maildir).fetch_pending() == []
    assert {r.outcome for r in ledger_rows()} == {"completed"}

    assert_a_rerun_does_nothing(case_server, stats)


def test_a_letter_that_keeps_failing_goes_to_a_caseworker(
        case_server: LoopbackServer, inject: Callable, maildir: Path,
        monkeypatch: pytest.MonkeyPatch, retry_at_once: None) -> None:
    """After its last attempt the letter is handed to a person in the intake's department,
    with the error (no CPR number) on the task; it stays in the drop folder."""
    monkeypatch.setenv("CASEWORK_ITEM_MAX_ATTEMPTS", "2")
    reset_settings_cache()
    deliver_samples_numbered(maildir, MADS)
    inject(case_server, [{"method": "POST", "path": "/cases/SAG-2026-0002/documents",
                          "status": 422, "times": 2}])
    [first] = intake().rows
    assert first.state == ItemState.FAILED
    [second] = intake().rows
    assert (second.item_id, second.state) == (first.item_id, ItemState.MANUAL)
    item = queue.get_item(first.item_id)
    assert item.state == "manual" and item.attempts == 2 and item.parked_task_id
    [task] = signoff_tasks()
    assert task.id == item.parked_task_id and task.step == queue.HANDLE_BY_HAND
    assert task.status == "awaiting" and task.department == "borgerservice"
    assert "POST /cases/SAG-2026-0002/documents -> 422" in task.payload["suggestion"]["error"]
    assert "030271-6129" not in str(task.payload)
    assert len(DropFolderMailbox(maildir).fetch_pending()) == 1
    assert notes(case_server, "SAG-2026-0002") == []
    assert intake().rows == []  # handed over: the robot leaves it alone


def test_protected_address_and_unknown_sender_wait_for_a_caseworker(
        case_server: LoopbackServer, stats: Callable, maildir: Path) -> None:
    jens, unknown = f"<extra-1@{MAIL_DOMAIN}>", f"<extra-2@{MAIL_DOMAIN}>"
    deliver(maildir, letter_from(
        "jok", "Jens Ove Kristiansen", "Tilbygning – supplerende oplysninger",
        "Hermed svar på jeres spørgsmål om tilbygningen. CPR 170692-7348.", 1))
    deliver(maildir, letter_from(
        "ukendt", "En Borger", "Spørgsmål", "Hvornår har I åbent på rådhuset?", 2))
    untouched = documents(case_server, "SAG-2026-0004")
    before = stats(case_server)

    first = intake()
    rows = rows_by_letter(first, jens, unknown)
    assert {r.state for r in rows.values()} == {ItemState.AWAITING_SIGNOFF}
    assert {r.outcome for r in rows.values()} == {"awaiting_signoff"}
    tasks = {t.payload["suggestion"]["method"]: t for t in signoff_tasks()}
    assert set(tasks) == {"cpr", "none"}
    assert rows[jens].signoff_task_id == tasks["cpr"].id
    assert rows[unknown].signoff_task_id == tasks["none"].id
    assert tasks["cpr"].payload["signoff_reasons"] == ["signoff_when: result.protected_address"]
    assert tasks["cpr"].department == "borgerservice" and tasks["cpr"].step == "identify_citizen"
    assert "170692-7348" not in str(tasks["cpr"].payload)
    assert "170692-7348" not in first.model_dump_json()
    assert documents(case_server, "SAG-2026-0004") == untouched
    assert len(DropFolderMailbox(maildir).fetch_pending()) == 2

    # Still waiting: nothing taken, no second task, no second ledger row.
    assert_a_rerun_does_nothing(case_server, stats)
    assert len([r for r in ledger_rows() if r.step == "identify_citizen"]) == 2

    decide(tasks["cpr"].id, "approved")
    third = intake()
    [row] = third.rows  # the unknown sender's letter still waits
    assert row.item_id == rows[jens].item_id and row.state == ItemState.DONE
    assert row.result and row.result["status"] == "filed" and not row.result["new_case"]
    assert row.case_ref == pseudonymise("SAG-2026-0004")
    [note] = notes(case_server, "SAG-2026-0004")
    assert "Navne- og adressebeskyttelse" in note["text"] and "BFE 5408815" in note["text"]
    assert "Lyngbakken" not in note["text"]
    [pending] = DropFolderMailbox(maildir).fetch_pending()
    assert pending.message_id == unknown
    # The identification was not made again: one row for each letter.
    assert len([r for r in ledger_rows() if r.step == "identify_citizen"]) == 2
    assert len(signoff_tasks()) == 2

    # A rejected identification ends the letter there: no case, no document, no note.
    decide(tasks["none"].id, "rejected")
    middle = stats(case_server)
    [rejected] = intake().rows
    assert rejected.item_id == rows[unknown].item_id
    assert (rejected.state, rejected.outcome) == (ItemState.DONE, "rejected")
    assert stats(case_server) == middle
    assert middle["cases"] == before["cases"]
    assert not any(r.step in ("open_case", "file_letter") and r.case_ref == rejected.case_ref
                   for r in ledger_rows())
    assert_a_rerun_does_nothing(case_server, stats)


def decide(task_id: str, decision: str) -> None:
    """What the inbox stores when a caseworker decides (decision and ledger, one transaction)."""
    with transaction() as session:
        task = session.get(SignoffTask, task_id)
        task.status, task.decision = "decided", decision
        task.decided_by, task.decided_at = "karl.borger", datetime.now(UTC)
        ledger.record_decision(session, task.ledger_entry_id, Outcome(decision), 40)


def test_missing_settings_name_the_parameter_and_variable(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.settings import MissingSetting, connector_settings

    monkeypatch.delenv("CASEWORK_CASE_SYSTEM_TOKEN")
    with pytest.raises(MissingSetting, match="CASEWORK_CASE_SYSTEM_TOKEN"):
        connector_settings().case_system()
    assert TOKEN not in repr(connector_settings())
