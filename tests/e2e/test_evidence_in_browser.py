"""In Chromium, in Danish and in Norwegian: for the four robots' task kinds the caseworker sees
the letter and the facts, decides without typing JSON, and an invalid amendment keeps what she
typed and her reason; "Approve and next" moves on. Writes the task page's screenshots to
docs/images/ (task-page-da.png, task-page-nb.png)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, update

from casework.case import Evidence, EvidenceDocument
from casework.db.models import SignoffTask
from casework.db.session import reading, transaction
from casework.inbox.app import create_app
from casework.inbox.seed import seed_demo_users
from casework.inbox.settings import InboxSettings
from flows.building_screening import DraftLetter
from flows.intake import Identification
from flows.journal_placement import Alternative, JournalSuggestion
from flows.routing import RoutingSuggestion
from standins.server import serving

sys.path.insert(0, str(Path(__file__).parents[1] / "inbox"))
from inbox_helpers import make_task  # noqa: E402

playwright_api = pytest.importorskip("playwright.sync_api")

from connectors.browser import BrowserNotFoundError, launch_browser  # noqa: E402

IMAGES = Path(__file__).parents[2] / "docs" / "images"
LETTER = "Jeg vil gerne bygge en carport på 30 m2 ved mit hus på Vestergade 3."


def _evidence(number: str) -> Evidence:
    return Evidence(case_number=number, documents=[EvidenceDocument(
        title="Carport på Vestergade 3", text=LETTER, sender="Jens Hansen <jens@example.dk>",
        received=datetime(2026, 3, 2, 9, 30, tzinfo=UTC), attachments=["tegning.pdf"])],
        facts={"identified_by": "cpr", "citizen_known": True, "protected_address": False,
               "open_cases": 1})


def _tasks(engine: Engine) -> dict[str, str]:
    results = {
        "journal": ("journal_placement", "suggest_journal", 1, JournalSuggestion(
            kle="02.34.02", title="Byggetilladelse", confidence=0.41, why=["carport"],
            alternatives=[Alternative(code="02.34.30", title="Nedrivning af bebyggelse",
                                      score=0.2)])),
        "routing": ("routing", "suggest_department", 2, RoutingSuggestion(
            department="byggeri", confidence=0.52, why=["carport"], model="tfidf")),
        "intake": ("intake", "identify_citizen", 3, Identification(
            method="sender_name", case_id="SAG-2026-0003", open_cases=1, confidence=0.5)),
        "screening": ("building_screening", "draft_request_letter", 4, DraftLetter(
            subject="Manglende dokumenter", text="Kære Jens\n\nVi mangler en plantegning.",
            missing=["Plantegning"], reply_by=date(2026, 5, 1), reference="r1")),
    }
    made = {}
    for name, (flow, step, hours, result) in results.items():
        task_id = make_task(engine, flow=flow, step=step, suggestion=result, summary=name,
                            deadline_hours=hours)
        with transaction(engine) as s:
            task = s.get(SignoffTask, task_id)
            payload = {**task.payload, "signoff_reasons": ["signoff_when: confidence < 0.6"],
                       "evidence": _evidence(f"SAG-2026-000{hours}").model_dump(mode="json")}
            s.execute(update(SignoffTask).where(SignoffTask.id == task_id)
                      .values(payload=payload))
        made[name] = task_id
    return made


@pytest.fixture
def engine(db_engine: Engine) -> Engine:
    seed_demo_users(db_engine)
    return db_engine


@pytest.fixture
def inbox_url(engine: Engine) -> Iterator[str]:
    settings = InboxSettings(dev_login=True, cookie_secure=False,
                             secret_key=SecretStr("e2e-secret"),
                             case_url_template="https://sag.example.dk/sager/{case_number}")
    with serving(create_app(settings, engine=engine)) as server:
        yield server.url


@pytest.fixture
def browser():  # type: ignore[no-untyped-def]
    with playwright_api.sync_playwright() as pw:
        try:
            chromium = launch_browser(pw)
        except BrowserNotFoundError as exc:
            pytest.skip(str(exc))
        yield chromium
        chromium.close()


TEXT = {
    "da": {"user": "Anna Byggesag (anna.byg)", "login": "Log ind",
           "evidence": "Det robotten har læst", "amend": "Ret og godkend",
           "next": "Godkend og næste", "saved": "Behandlingen er gemt", "dept": "Skole",
           "open_cases": "Åbne sager for borgeren", "integer": "Skriv et helt tal.",
           "text": "Brevets tekst", "unsure": "Robotten er usikker"},
    "nb": {"user": "Anna Byggesag (anna.byg)", "login": "Logg inn",
           "evidence": "Det roboten har lest", "amend": "Rett og godkjenn",
           "next": "Godkjenn og neste", "saved": "Behandlingen er lagret", "dept": "Skole",
           "open_cases": "Åpne saker for innbyggeren", "integer": "Skriv et heltall.",
           "text": "Brevets tekst", "unsure": "Roboten er usikker"},
}


@pytest.mark.parametrize("lang", ["da", "nb"])
def test_caseworker_decides_the_four_kinds_from_the_evidence(engine, inbox_url, browser, lang):
    tasks = _tasks(engine)
    text = TEXT[lang]
    context = browser.new_context(locale="da-DK" if lang == "da" else "nb-NO",
                                  base_url=inbox_url, viewport={"width": 1100, "height": 1300})
    page = context.new_page()
    page.goto("/login")
    page.get_by_label(text["user"]).check()
    page.get_by_role("button", name=text["login"]).click()
    if lang == "nb":
        page.locator("#language-select").select_option("nb")
        page.locator("#language-select").locator("xpath=..").get_by_role("button").click()
    assert page.locator("html").get_attribute("lang") == lang

    # Journal placement: the letter beside the suggestion; another subject picked, no JSON.
    page.goto(f"/tasks/{tasks['journal']}")
    evidence = page.locator("#evidence")
    assert text["evidence"] in evidence.inner_text() and LETTER in evidence.inner_text()
    assert page.locator("#case-number a").get_attribute("href") == \
        "https://sag.example.dk/sager/SAG-2026-0001"
    assert text["unsure"] in page.locator("#reasons").inner_text()
    assert page.locator("textarea[name=value_json]").count() == 0
    if os.environ.get("CASEWORK_SCREENSHOTS", "1") == "1":
        IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(IMAGES / f"task-page-{lang}.png"))
    page.get_by_label("02.34.30 Nedrivning af bebyggelse").check()
    page.locator("#amend-reason").fill("Det er en nedrivning.")
    page.locator("#amend-form").get_by_role("button", name=text["amend"], exact=True).click()
    assert text["saved"] in page.locator("#message").inner_text()
    assert "02.34.30" in page.locator("#decided-value").inner_text()

    # Routing: a department chosen by its name.
    page.goto(f"/tasks/{tasks['routing']}")
    page.locator("#field-department").select_option(label=text["dept"])
    page.locator("#amend-reason").fill("Skolesag")
    page.locator("#amend-form").get_by_role("button", name=text["amend"], exact=True).click()
    assert text["saved"] in page.locator("#message").inner_text()

    # Intake: an invalid amendment keeps her input and reason; then "Approve and next".
    page.goto(f"/tasks/{tasks['intake']}")
    page.get_by_label(text["open_cases"]).fill("to")
    page.locator("#amend-reason").fill("Min begrundelse skal ikke forsvinde")
    page.locator("#amend-form").get_by_role("button", name=text["amend"], exact=True).click()
    assert page.get_by_label(text["open_cases"]).input_value() == "to"
    assert page.locator("#amend-reason").input_value() == "Min begrundelse skal ikke forsvinde"
    assert text["integer"] in page.locator("#field-open-cases-error").inner_text()
    page.get_by_role("button", name=text["next"], exact=True).click()
    assert page.url.endswith(f"/tasks/{tasks['screening']}?decided={tasks['intake']}")

    # Building screening: the draft letter edited as text, with real line breaks.
    letter = page.get_by_label(text["text"])
    assert letter.input_value() == "Kære Jens\n\nVi mangler en plantegning."
    letter.fill("Kære Jens\n\nVi mangler en plantegning og en facadetegning.")
    page.locator("#amend-reason").fill("Facadetegning mangler også")
    page.locator("#amend-form").get_by_role("button", name=text["amend"], exact=True).click()
    assert text["saved"] in page.locator("#message").inner_text()
    context.close()

    with reading(engine) as s:
        decided = {name: s.get(SignoffTask, task_id) for name, task_id in tasks.items()}
    assert decided["journal"].decision_value["kle"] == "02.34.30"
    assert decided["routing"].decision_value["department"] == "skole"
    assert decided["intake"].decision == "approved"
    assert decided["screening"].decision_value["text"].endswith("og en facadetegning.")
