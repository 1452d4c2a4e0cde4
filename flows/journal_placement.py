"""Journal placement: read an incoming letter and suggest where it belongs in the journal (KLE).

The robot prepares; the policy (``policies/journal_placement.yaml``) says whether a suggestion
may be used as it is or needs a caseworker's sign-off (low confidence, sensitive cases).

When a case-system connection is configured (``case_system_url`` or
``CASEWORK_CASE_SYSTEM_URL``), a used suggestion is filed there: the case gets the KLE number
and a journal note. A choice a caseworker confirmed or corrected is kept as a labelled example
(``casework suggest retrain kle`` builds the model from them; the next run picks it up).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from prefect import task
from pydantic import BaseModel, Field

from casework import audit
from casework.case import Case
from casework.db.session import transaction
from casework.ledger import Outcome
from casework.privacy import contains_cpr, mask_cpr
from casework.runtime import CaseworkFlow, Decision, require_signoff
from connectors.http import ConnectorError
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
    """One line per letter, for the caller (the demo prints it; a deployment logs it)."""

    message_id: str
    case_ref: str
    status: str
    kle: str | None = None
    signoff_task_id: str | None = None
    error: str | None = None  # filing in the case system failed; the letter can be re-run


class JournalFiling(BaseModel):
    """What the case system holds after filing: the case's KLE number and the note."""

    kle: str
    note_id: int


_suggester_cache: dict[str, Any] = {}


def _retrained_stamp() -> tuple[str, int] | None:
    """Which retrained example model is on disk (meta.json path and mtime), if any."""
    from casework.suggest.examples import ExampleModel

    meta = Path(ExampleModel.default_dir("kle")) / "meta.json"
    try:
        return str(meta), meta.stat().st_mtime_ns
    except OSError:
        return None


def _kle_suggester():  # type: ignore[no-untyped-def]
    """The KLE suggester, reloaded when ``casework suggest retrain kle`` wrote a new model."""
    from casework.suggest.suggester import TaxonomySuggester

    stamp = _retrained_stamp()
    if "suggester" not in _suggester_cache or _suggester_cache["stamp"] != stamp:
        _suggester_cache.update(stamp=stamp, suggester=TaxonomySuggester.load("kle"))
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
        kle=best.code, title=best.title, confidence=round(best.score, 3),
        why=list(best.evidence)[:8],
        alternatives=[Alternative(code=s.code, title=s.title, score=round(s.score, 3))
                      for s in top[1:]],
    )


_HOW_USED = {
    Outcome.COMPLETED: "brugt automatisk efter kommunens politik",
    Outcome.APPROVED: "godkendt af en sagsbehandler",
    Outcome.AMENDED: "rettet af en sagsbehandler",
}


@robot.step(kind="preparatory")
def file_journal_number(case: Case, connection: CaseSystemConnection, message_id: str,
                        subject: str, suggestion: JournalSuggestion, status: str,
                        suggested_kle: str) -> JournalFiling:
    """Journalise the case under the chosen KLE number and note why, in the case system."""
    how = _HOW_USED.get(Outcome(status), status)
    if status == Outcome.AMENDED.value and suggested_kle != suggestion.kle:
        how += f" (robottens forslag var {suggested_kle})"
    text = (f"Indgående brev \"{mask_cpr(subject)}\" journaliseret under KLE {suggestion.kle} "
            f"{suggestion.title}. Journalnummeret er foreslået af journaliseringsrobotten og "
            f"{how}.")
    with connection.client() as client:
        client.set_journal_number(case.id, suggestion.kle)
        note = client.create_journal_note(
            case.id, text, author="robot:journal_placement",
            idempotency_key=f"journal_placement:{message_id}:{suggestion.kle}:{status}:note")
    return JournalFiling(kle=suggestion.kle, note_id=note.id)


@task(name="record_confirmed_choice")
def record_confirmed_choice(case: Case, message_id: str, text: str, kle: str,
                            decision: str) -> None:
    """Keep a caseworker's confirmed or corrected KLE choice as a labelled example, so the
    next ``casework suggest retrain kle`` learns from it. Robot-only choices are not kept:
    the model would learn from itself."""
    from casework.suggest.examples import Example, ExampleStore

    ExampleStore().add(_kle_suggester().taxonomy, [Example(id=message_id, text=text, code=kle)])
    with transaction() as session:
        audit.append(session, actor=f"robot:{robot.name}", action="suggest.example_recorded",
                     flow=robot.name, step="suggest_journal", case_ref=case.ref,
                     details={"taxonomy": "kle", "code": kle, "decision": decision})


def _file(case: Case, connection: CaseSystemConnection | None, letter: Letter,
          facts: LetterFacts, suggested: JournalSuggestion | None,
          decision: Decision[JournalSuggestion]) -> str:
    """After a used suggestion: learn from a caseworker's choice, file in the case system."""
    chosen = decision.value
    if decision.status in (Outcome.APPROVED, Outcome.AMENDED):
        record_confirmed_choice(case, letter.message_id, facts.text, chosen.kle,
                                decision.status.value)
    if connection is None:
        return decision.status.value
    filed = require_signoff(file_journal_number(
        case, connection, letter.message_id, letter.subject, chosen, decision.status.value,
        suggested.kle if suggested else chosen.kle))
    return decision.status.value if filed.proceed else f"filing_{filed.status.value}"


@robot.flow(log_prints=False)
def journal_placement(letters: list[Letter], case_system_url: str | None = None,
                      ) -> list[JournalPlacementResult]:
    """Read each letter and place it in the journal, within what the policy allows.

    With a case system configured (``case_system_url`` or ``CASEWORK_CASE_SYSTEM_URL``, token
    in ``CASEWORK_CASE_SYSTEM_TOKEN``) a used suggestion is also filed there.
    """
    connection = case_system_connection(case_system_url)
    results: list[JournalPlacementResult] = []
    for letter in letters:
        case = Case(id=letter.case_id, department=letter.department,
                    attributes={"sensitive": letter.sensitive},
                    summary=mask_cpr(letter.subject))
        read = require_signoff(read_letter(case, letter))
        if not read.proceed:
            results.append(JournalPlacementResult(message_id=letter.message_id,
                                                  case_ref=case.ref, status=read.status.value,
                                                  signoff_task_id=read.signoff_task_id))
            continue
        # The facts the robot found become case facts the policy can test.
        case = case.model_copy(update={"attributes": {
            **case.attributes, "sensitive": read.value.sensitive,
            "identifies_citizen": read.value.identifies_citizen}})
        suggested = suggest_journal(case, read.value)
        decision = require_signoff(suggested)
        status, error = decision.status.value, None
        if decision.proceed:
            try:
                status = _file(case, connection, letter, read.value, suggested.result, decision)
            except ConnectorError as exc:
                # One case the case system refuses (after its retries) stops only this letter;
                # its failed step is in the ledger and a re-run files it once (idempotent).
                # The connector's message names the case id: keep it out of logs and results.
                error = f"{exc.system}: {type(exc).__name__} (HTTP {exc.status or '-'})"
                status = "filing_failed"
                log.warning("journal placement: filing failed for case %s: %s", case.ref, error)
        results.append(JournalPlacementResult(
            message_id=letter.message_id, case_ref=case.ref, status=status,
            kle=decision.value.kle if decision.proceed else None,
            signoff_task_id=decision.signoff_task_id, error=error))
    return results
