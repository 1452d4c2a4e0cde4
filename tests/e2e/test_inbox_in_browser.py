"""End to end in a real browser: the journal-placement flow parks a letter at a sign-off step
and finishes its run; a caseworker logs in to the inbox in Chromium, picks another KLE subject
and signs off the amended suggestion; the deliverer makes the work item ready, the next run
continues it from the signed-off step with the amended value (once: a third run does nothing),
and the ledger holds the caseworker's measured review time."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, select

from casework.db.models import AuditEvent, LedgerEntry, SignoffTask
from casework.db.session import reading
from casework.inbox.app import create_app
from casework.inbox.seed import seed_demo_users
from casework.inbox.settings import InboxSettings
from casework.settings import reset_settings_cache
from casework.signoff.outbox import deliver_pending
from standins.server import serving

playwright_api = pytest.importorskip("playwright.sync_api")

from connectors.browser import BrowserNotFoundError, launch_browser  # noqa: E402

LETTER = {
    "message_id": "E2E-1", "case_id": "SAG-2026-0999", "department": "byggeri",
    "sensitive": True,  # the policy sends sensitive cases to sign-off
    "subject": "Ansøgning om nedrivning af udhus",
    "body": "Jeg vil gerne rive mit gamle udhus ned. Det er 20 m2 og ligger i haven.",
}


@pytest.fixture
def engine(db_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.delenv("CASEWORK_CASE_SYSTEM_URL", raising=False)
    reset_settings_cache()
    seed_demo_users(db_engine)
    return db_engine


@pytest.fixture
def inbox_url(engine: Engine) -> Iterator[str]:
    settings = InboxSettings(dev_login=True, cookie_secure=False,
                             secret_key=SecretStr("e2e-secret"))
    with serving(create_app(settings, engine=engine)) as server:
        yield server.url


@pytest.fixture
def page(inbox_url: str):  # type: ignore[no-untyped-def]
    with playwright_api.sync_playwright() as pw:
        try:
            browser = launch_browser(pw)
        except BrowserNotFoundError as exc:
            pytest.skip(str(exc))
        context = browser.new_context(locale="da-DK", base_url=inbox_url)
        yield context.new_page()
        context.close()
        browser.close()


def wait_for(predicate, timeout: float = 120.0, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def awaiting_task() -> SignoffTask | None:
    with reading() as session:
        return session.scalars(select(SignoffTask).where(SignoffTask.status == "awaiting")).first()


@pytest.mark.usefixtures("prefect_api")
def test_caseworker_amends_in_the_browser_and_the_flow_finishes_with_it(engine, page):
    from flows.journal_placement import Letter, add_letters, journal_placement

    add_letters([Letter(**LETTER)])
    [parked] = journal_placement().rows  # the run ends; the letter waits, parked
    assert parked.state == "awaiting_signoff"
    task = awaiting_task()
    assert task is not None and task.id == parked.signoff_task_id
    assert task.step == "suggest_journal" and task.department == "byggeri"
    # The robot's evidence travels with the task: the case number and the letter itself.
    assert task.payload["evidence"]["case_number"] == "SAG-2026-0999"
    assert task.payload["evidence"]["documents"][0]["text"] == LETTER["body"]

    # The caseworker logs in (development login) and finds the task in her queue.
    page.goto("/login")
    page.get_by_label("Anna Byggesag (anna.byg)").check()
    page.get_by_role("button", name="Log ind").click()
    page.get_by_role("link", name="Ansøgning om nedrivning af udhus").click()
    assert page.url.endswith(f"/tasks/{task.id}")

    # She searches KLE for the right subject, picks it, gives a reason and signs off.
    page.get_by_label("Søg i KLE").fill("byggetilladelse")
    page.get_by_role("button", name="Søg", exact=True).click()
    page.get_by_label(re.compile(r"^02\.34\.02 Byggetilladelse\b")).wait_for()  # hits come in place
    assert page.get_by_label(re.compile(r"^02\.34\.02 Byggetilladelse\b")).count() == 1
    chosen_code = "02.34.02"  # she reads it as a building-permit matter, not the robot's
    assert task.payload["suggestion"]["kle"] != chosen_code
    page.get_by_label(re.compile(r"^02\.34\.02 Byggetilladelse\b")).check()
    time.sleep(1.0)  # she reads the case for a moment: measured review time
    page.locator("#amend-reason").fill("Sagen kræver byggetilladelse.")
    page.get_by_role("button", name="Ret og godkend").click()
    assert "Behandlingen er gemt" in page.locator("#message").inner_text()

    # The deliverer makes the item ready; the next run finishes it with the amended value.
    wait_for(lambda: deliver_pending().delivered, timeout=60, what="delivery to the item")
    [done] = journal_placement().rows
    assert (done.outcome, (done.result or {}).get("kle")) == ("amended", chosen_code)
    assert journal_placement().rows == []  # applied once; nobody asked twice
    with reading() as session:
        assert len(session.scalars(select(SignoffTask)).all()) == 1

    with reading() as session:
        entry = session.get(LedgerEntry, task.ledger_entry_id)
        decided = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "signoff.amended")).one()
    assert entry.outcome == "amended"
    assert 1.0 <= entry.human_seconds < 120  # opened → decided, measured by the inbox
    assert entry.saved_minutes == pytest.approx(6 - entry.human_seconds / 60, abs=1e-3)
    assert decided.actor == "anna.byg" and decided.details["decided"]["kle"] == chosen_code
