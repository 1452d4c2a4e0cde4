"""Journal placement: read an incoming letter and suggest where it belongs in the journal (KLE).

The robot prepares; the policy (``policies/journal_placement.yaml``) says whether a suggestion
may be used as it is or needs a caseworker's sign-off (low confidence, sensitive cases).
"""

from __future__ import annotations

import re
from functools import lru_cache

from pydantic import BaseModel, Field

from casework.case import Case
from casework.privacy import contains_cpr, mask_cpr
from casework.runtime import CaseworkFlow, require_signoff

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


@lru_cache(maxsize=1)
def _kle_suggester():  # type: ignore[no-untyped-def]
    from casework.suggest.suggester import TaxonomySuggester

    return TaxonomySuggester.load("kle")


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


@robot.flow(log_prints=False)
def journal_placement(letters: list[Letter]) -> list[JournalPlacementResult]:
    """Read each letter and place it in the journal, within what the policy allows."""
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
        decision = require_signoff(suggest_journal(case, read.value))
        results.append(JournalPlacementResult(
            message_id=letter.message_id, case_ref=case.ref, status=decision.status.value,
            kle=decision.value.kle if decision.proceed else None,
            signoff_task_id=decision.signoff_task_id))
    return results
