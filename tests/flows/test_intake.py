"""Intake end to end: drop folder → case system and registry stand-ins over loopback, through a
real Prefect API, writing ledger rows. Crash and re-run, faults on one letter, sign-off."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flow_helpers import TOKEN, admin, letter_from
from sqlalchemy import select

from casework import ledger
from casework.db.models import LedgerEntry, SignoffTask
from casework.db.session import reading, transaction
from casework.ledger import Outcome
from casework.privacy import pseudonymise
from connectors.mailbox import DropFolderMailbox
from flows.intake import intake
from standins.mail_drop import deliver
from standins.server import LoopbackServer

pytestmark = pytest.mark.usefixtures("prefect_api", "systems_env")

SAMPLE_CASES = 5  # seeded in the case-system stand-in
CPRS = ("120463-5017", "030271-6129", "080977-5452", "290366-8564", "170692-7348")


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


def test_sample_letters_are_filed_on_their_cases(
        deliver_samples: Callable, case_server: LoopbackServer, stats: Callable,
        maildir: Path) -> None:
    deliver_samples()
    before = stats(case_server)
    report = intake()

    assert [r.status for r in report.results] == ["filed"] * 4
    assert [r.new_case for r in report.results] == [False, False, True, True]
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
    [note] = notes(case_server, lise["id"])
    assert "BFE 5331908" in note["text"] and "Lokalplan 212" in note["text"]
    assert note["author"] == "robot:intake"
    assert not any(cpr in note["text"] for cpr in CPRS)

    rows = ledger_rows()
    steps = sorted(row.step for row in rows)
    assert steps.count("read_letter") == 4 and steps.count("file_letter") == 4
    assert steps.count("open_case") == 2 and len(rows) == 18
    assert {row.outcome for row in rows} == {"completed"}
    assert all(row.baseline_minutes > 0 for row in rows)
    assert pseudonymise("SAG-2026-0001") in {row.case_ref for row in rows}
    assert not any(row.case_ref.startswith("SAG-") for row in rows)


def test_rerun_after_a_crash_creates_no_duplicates(
        deliver_samples: Callable, case_server: LoopbackServer, stats: Callable,
        inject: Callable, maildir: Path) -> None:
    """The first run dies for Lise's letter after her case and documents were created (every
    answer to the note is lost on the wire); the re-run finds them instead of making copies."""
    deliver_samples()
    before = stats(case_server)
    inject(case_server, [{"method": "POST", "path": "/cases/SAG-2026-0005/notes",
                          "drop": True, "when": "after", "times": 3}])
    first = intake()
    assert [r.status for r in first.results] == ["filed", "filed", "failed", "filed"]
    assert "case system: POST /cases/SAG-2026-0005/notes" in (first.results[2].error or "")
    assert len(DropFolderMailbox(maildir).fetch_pending()) == 1  # Lise's letter is still there
    middle = stats(case_server)
    assert middle["cases"] - before["cases"] == 2  # her case exists already

    second = intake()
    assert [r.status for r in second.results] == ["filed"]
    after = stats(case_server)
    assert after["cases"] == middle["cases"]
    assert after["documents"] - before["documents"] == 8
    assert after["journal_notes"] - before["journal_notes"] == 4
    assert len(notes(case_server, "SAG-2026-0005")) == 1
    assert DropFolderMailbox(maildir).fetch_pending() == []
    failed = [row for row in ledger_rows() if row.outcome == "failed"]
    assert [row.step for row in failed] == ["file_letter"] and failed[0].error


def test_refused_and_malformed_answers_leave_that_letter_for_retry(
        deliver_samples: Callable, case_server: LoopbackServer, inject: Callable,
        maildir: Path) -> None:
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

    karen, mads, lise, peter = report.results
    assert (karen.status, mads.status, lise.status, peter.status) == (
        "failed", "failed", "filed", "filed")
    assert karen.error == ("case system: GET /cases/SAG-2026-0001 -> 200: malformed answer: field "
                           "'status': Field required")
    assert mads.error == "case system: POST /cases/SAG-2026-0002/documents -> 422: injected fault"
    assert not karen.acknowledged and not mads.acknowledged
    assert documents(case_server, "SAG-2026-0001") == karen_docs
    assert documents(case_server, "SAG-2026-0002") == mads_docs
    assert notes(case_server, "SAG-2026-0002") == []
    pending = DropFolderMailbox(maildir).fetch_pending()
    assert sorted(p.sender_name or "" for p in pending) == ["Karen Holm Sørensen",
                                                            "Mads Nørgaard Petersen"]

    retry = intake()  # the faults are spent: both letters go through now
    assert [r.status for r in retry.results] == ["filed", "filed"]


def test_protected_address_and_unknown_sender_wait_for_a_caseworker(
        case_server: LoopbackServer, maildir: Path) -> None:
    deliver(maildir, letter_from(
        "jok", "Jens Ove Kristiansen", "Tilbygning – supplerende oplysninger",
        "Hermed svar på jeres spørgsmål om tilbygningen. CPR 170692-7348.", 1))
    deliver(maildir, letter_from(
        "ukendt", "En Borger", "Spørgsmål", "Hvornår har I åbent på rådhuset?", 2))
    untouched = documents(case_server, "SAG-2026-0004")

    first = intake()
    assert [r.status for r in first.results] == ["awaiting_signoff"] * 2
    tasks = {t.payload["suggestion"]["method"]: t for t in signoff_tasks()}
    assert set(tasks) == {"cpr", "none"}
    assert tasks["cpr"].payload["signoff_reasons"] == ["signoff_when: result.protected_address"]
    assert tasks["cpr"].department == "borgerservice" and tasks["cpr"].step == "identify_citizen"
    assert "170692-7348" not in str(tasks["cpr"].payload)
    assert documents(case_server, "SAG-2026-0004") == untouched
    assert len(DropFolderMailbox(maildir).fetch_pending()) == 2

    second = intake()  # still waiting: no second task, no second ledger row
    assert [r.status for r in second.results] == ["awaiting_signoff"] * 2
    assert len(signoff_tasks()) == 2
    assert len([r for r in ledger_rows() if r.step == "identify_citizen"]) == 2

    approve(tasks["cpr"].id)
    third = intake()
    assert [r.status for r in third.results] == ["filed", "awaiting_signoff"]
    [note] = notes(case_server, "SAG-2026-0004")
    assert "Navne- og adressebeskyttelse" in note["text"] and "BFE 5408815" in note["text"]
    assert "Lyngbakken" not in note["text"]
    assert len(DropFolderMailbox(maildir).fetch_pending()) == 1


def approve(task_id: str) -> None:
    """What the inbox stores when a caseworker approves (decision and ledger, one transaction)."""
    with transaction() as session:
        task = session.get(SignoffTask, task_id)
        task.status, task.decision = "decided", "approved"
        task.decided_by, task.decided_at = "karl.borger", datetime.now(UTC)
        ledger.record_decision(session, task.ledger_entry_id, Outcome.APPROVED, 40)


def test_missing_settings_name_the_parameter_and_variable(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.settings import MissingSetting, connector_settings

    monkeypatch.delenv("CASEWORK_CASE_SYSTEM_TOKEN")
    with pytest.raises(MissingSetting, match="CASEWORK_CASE_SYSTEM_TOKEN"):
        connector_settings().case_system()
    assert TOKEN not in repr(connector_settings())
