"""Journal placement: read an incoming letter and suggest where it belongs in the journal (KLE).

The robot prepares; the policy (``policies/journal_placement.yaml``) says whether a suggestion
may be used as it is or needs a caseworker's sign-off (low confidence, sensitive cases).

Each letter is a work item (key: its Message-ID): ``read_letter`` and ``suggest_journal``
prepare; when a case-system connection is configured (``case_system_url`` or
``CASEWORK_CASE_SYSTEM_URL``) the act step ``file_journal_number`` files the approved or allowed
KLE number and a journal note — once, whichever run gets there. A choice a caseworker confirmed
or corrected is kept as a labelled example (``casework suggest retrain kle`` builds the model
from them; the next run picks it up).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from contextlib import nullcontext
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from casework import audit
from casework.case import Case, Evidence, EvidenceDocument
from casework.db.session import transaction
from casework.items.keys import message_key
from casework.items.memo import current_item, once
from casework.items.processing import ItemsReport
from casework.items.queue import Added, NewItem
from casework.ledger import Outcome
from casework.privacy import contains_cpr, mask_cpr, pseudonymise
from casework.runtime import CaseworkFlow, Decision, require_signoff
from flows.case_system_settings import CaseSystemConnection, case_system_connection

log = logging.getLogger(__name__)

robot = CaseworkFlow("journal_placement")

# Words that make a letter sensitive (health, children, social matters): a human looks first.
_SENSITIVE = re.compile(
    r"\b(underret\w*|demens|sygdom\w*|psykisk\w*|misbrug\w*|vold\w*|anbring\w*|handicap\w*)\b",
    re.IGNORECASE,
)


class Letter(BaseModel):
    """An incoming citizen letter as a mailbox connector delivers it."""

    message_id: str
    case_id: str
    department: str | None = None
    sensitive: bool = False
    received: str | None = None
    subject: str
    body: str


class LetterFacts(BaseModel):
    subject: str
    text: str = Field(description="Subject and body with CPR numbers masked.")
    identifies_citizen: bool
    sensitive: bool


class Alternative(BaseModel):
    code: str
    title: str
    score: float


class JournalSuggestion(BaseModel):
    kle: str
    title: str
    confidence: float = Field(ge=0, le=1)
    why: list[str] = Field(default_factory=list, description="Words that led to the suggestion.")
    alternatives: list[Alternative] = Field(default_factory=list)


class JournalPlacementResult(BaseModel):
    """How one letter ended (kept on its work item; no personal data: the case pseudonym)."""

    case_ref: str
    status: str
    kle: str | None = None
    filed: bool = False
    signoff_task_id: str | None = None


class JournalFiling(BaseModel):
    """What the case system holds after filing: the case's KLE number and the note."""

    kle: str
    note_id: int


_suggester_cache: dict[str, Any] = {}
_suggester_lock = threading.Lock()  # items run in threads; the model is loaded once


def _municipality() -> str | None:
    """Whose decisions this installation learns from (``CASEWORK_MUNICIPALITY``)."""
    from casework.settings import get_settings

    return get_settings().municipality


def _retrained_stamp() -> tuple[str | None, str, int] | None:
    """Which retrained example model is on disk (municipality, meta.json path, mtime), if any."""
    from casework.suggest.examples import ExampleModel

    municipality = _municipality()
    meta = Path(ExampleModel.default_dir("kle", municipality)) / "meta.json"
    try:
        return municipality, str(meta), meta.stat().st_mtime_ns
    except OSError:
        return None


def _kle_suggester():  # type: ignore[no-untyped-def]
    """The KLE suggester (with the municipality's retrained model when there is one), reloaded
    when ``casework suggest retrain kle`` wrote a new model."""
    from casework.suggest.suggester import TaxonomySuggester

    municipality = _municipality()
    stamp = _retrained_stamp() or (municipality,)
    with _suggester_lock:
        if "suggester" not in _suggester_cache or _suggester_cache["stamp"] != stamp:
            _suggester_cache.update(stamp=stamp, suggester=TaxonomySuggester.load(
                "kle", municipality=municipality))
        return _suggester_cache["suggester"]


@robot.step(kind="preparatory")
def read_letter(case: Case, letter: Letter) -> LetterFacts:
    """Open the letter, see whether it identifies a citizen and whether it is sensitive."""
    text = f"{letter.subject}\n{letter.body}"
    return LetterFacts(
        subject=mask_cpr(letter.subject),
        text=mask_cpr(text),
        identifies_citizen=contains_cpr(text),
        sensitive=letter.sensitive or bool(_SENSITIVE.search(text)),
    )


@robot.step(kind="preparatory")
def suggest_journal(case: Case, facts: LetterFacts) -> JournalSuggestion:
    """Top KLE subjects for the letter, with the words that led there."""
    top = _kle_suggester().suggest([facts.text], top=5)[0]
    best = top[0]
    return JournalSuggestion(
        kle=best.code, title=best.title, confidence=round(best.confidence, 3),
        why=list(best.evidence)[:8],
        alternatives=[Alternative(code=s.code, title=s.title, score=round(s.confidence, 3))
                      for s in top[1:]],
    )


_HOW_USED = {
    Outcome.COMPLETED: "brugt automatisk efter kommunens politik",
    Outcome.APPROVED: "godkendt af en sagsbehandler",
    Outcome.AMENDED: "rettet af en sagsbehandler",
}


@robot.act(kind="preparatory")
def file_journal_number(case: Case, connection: CaseSystemConnection, subject: str,
                        decision: Decision[JournalSuggestion], suggested_kle: str,
                        ) -> JournalFiling:
    """Journalise the case under the approved or allowed KLE number and note why, in the case
    system (once per letter: the note carries the work item's idempotency key)."""
    chosen = decision.value
    how = _HOW_USED.get(decision.status, decision.status.value)
    if decision.status is Outcome.AMENDED and suggested_kle != chosen.kle:
        how += f" (robottens forslag var {suggested_kle})"
    text = (f"Indgående brev \"{mask_cpr(subject)}\" journaliseret under KLE {chosen.kle} "
            f"{chosen.title}. Journalnummeret er foreslået af journaliseringsrobotten og "
            f"{how}.")
    item = current_item()
    key = item.effect_key("note") if item else f"journal_placement:{case.ref}:{chosen.kle}:note"
    with connection.client() as client:
        client.set_journal_number(case.id, chosen.kle)
        note = client.create_journal_note(case.id, text, author="robot:journal_placement",
                                          idempotency_key=key)
    return JournalFiling(kle=chosen.kle, note_id=note.id)


def record_confirmed_choice(case: Case, message_id: str, text: str, kle: str,
                            decision: str, suggested: str | None = None) -> None:
    """Keep a caseworker's confirmed, corrected or rejected KLE choice as a labelled example
    (a rejection: ``kle`` is the code ruled out), so the next ``casework suggest retrain kle``
    learns from it. Robot-only choices are not kept: the model would learn from itself."""
    from casework.suggest.examples import Example, ExampleStore

    ExampleStore(municipality=_municipality()).add(_kle_suggester().taxonomy, [Example(
        id=message_id, text=text, code=kle, suggested=suggested, decision=decision)])
    with transaction() as session:
        audit.append(session, actor=f"robot:{robot.name}", action="suggest.example_recorded",
                     flow=robot.name, step="suggest_journal", case_ref=case.ref,
                     details={"taxonomy": "kle", "code": kle, "decision": decision})


_connection: ContextVar[CaseSystemConnection | None] = ContextVar(
    "journal_placement_connection", default=None)


def add_letters(letters: Iterable[Letter]) -> Added:
    """Put letters in the robot's queue (key: Message-ID; adding one twice adds nothing). The
    letters stay in our database; the flow run gets nothing but item ids."""
    return robot.add_items(
        NewItem(key=message_key(letter.message_id), payload=letter.model_dump(mode="json"),
                case_ref=pseudonymise(letter.case_id))
        for letter in letters)


def letter_evidence(letter: Letter) -> Evidence:
    """The letter as the caseworker reads it on the task (CPR numbers masked)."""
    received = None
    if letter.received:
        try:
            received = datetime.fromisoformat(letter.received)
        except ValueError:
            received = None
    return Evidence(case_number=letter.case_id, documents=[EvidenceDocument(
        title=mask_cpr(letter.subject)[:300], text=mask_cpr(letter.body)[:20_000],
        received=received)])


def place_letter(letter: Letter) -> JournalPlacementResult:
    """One letter: read it, suggest its KLE subject, file what is approved or allowed."""
    case = Case(id=letter.case_id, department=letter.department,
                attributes={"sensitive": letter.sensitive}, summary=mask_cpr(letter.subject),
                evidence=letter_evidence(letter))
    read = require_signoff(read_letter(case, letter)).or_stop()
    # The facts the robot found become case facts the policy can test.
    case = case.model_copy(update={"attributes": {
        **case.attributes, "sensitive": read.value.sensitive,
        "identifies_citizen": read.value.identifies_citizen}})
    suggested = suggest_journal(case, read.value)
    decision = require_signoff(suggested)
    robot_kle = suggested.result.kle if suggested.result else None
    if decision.status in (Outcome.APPROVED, Outcome.AMENDED, Outcome.REJECTED) and robot_kle:
        kle = robot_kle if decision.status is Outcome.REJECTED else decision.value.kle
        once("learn", lambda: record_confirmed_choice(
            case, letter.message_id, read.value.text, kle, decision.status.value, robot_kle))
    chosen = decision.or_stop().value
    connection = _connection.get()
    if connection is not None:
        suggested_kle = suggested.result.kle if suggested.result else chosen.kle
        require_signoff(file_journal_number(case, connection, letter.subject, decision,
                                            suggested_kle)).or_stop()
    return JournalPlacementResult(case_ref=case.ref, status=decision.status.value,
                                  kle=chosen.kle, filed=connection is not None,
                                  signoff_task_id=decision.signoff_task_id)


@robot.flow(log_prints=False)
def journal_placement(item_ids: list[str] | None = None, case_system_url: str | None = None,
                      limit: int | None = None) -> ItemsReport:
    """Place the queued letters (all that are new or ready, or only ``item_ids``) in the
    journal, within what the policy allows.

    Letters enter the queue with ``add_letters`` (or ``casework items add``). With a case
    system configured (``case_system_url`` or ``CASEWORK_CASE_SYSTEM_URL``, token in
    ``CASEWORK_CASE_SYSTEM_TOKEN``) a used suggestion is also filed there.
    """
    connection = case_system_connection(case_system_url)
    token = _connection.set(connection)
    _kle_suggester()  # load the model before the first letter, not inside its step time
    try:
        # One client for the run, shared by the item threads (not one per letter).
        with connection.shared() if connection else nullcontext():
            return robot.process(place_letter, item_ids=item_ids, limit=limit)
    finally:
        _connection.reset(token)
