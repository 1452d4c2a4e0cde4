"""address_change: read a citizen's letter, suggest what to record, and record it on the case
once it is allowed or approved.

Written by ``casework new robot address_change`` (docs/tutorial.md explains every part). The
example reads a change-of-address letter; replace ``find_address`` and the note the act step
writes with your robot's own work, and keep the shape: prepare, sign off, act.
"""

from __future__ import annotations

import os
import re

from pydantic import BaseModel, Field

from casework.case import Case, labels
from casework.items.memo import current_item
from casework.items.processing import ItemsReport
from casework.privacy import mask_cpr
from casework.runtime import CaseworkFlow, Decision, require_signoff
from connectors.case_system import CaseSystemClient

robot = CaseworkFlow("address_change")  # its policy: policies/address_change.yaml


class Letter(BaseModel):
    """One work item's payload: what the source (a mailbox, a file) hands over."""

    message_id: str
    case_id: str
    department: str
    subject: str
    text: str
    protected: bool = False


class Suggestion(BaseModel):
    """The prepare step's result. The policy sees every field as ``result.<name>``;
    ``confidence`` is also plain ``confidence``. The caseworker sees it, and may amend it."""

    address: str | None = Field(json_schema_extra=labels(  # her words for it, on her page
        da="Ny adresse", nb="Ny adresse", en="New address"))
    confidence: float = Field(ge=0, le=1)
    evidence: str = Field(description="The words in the letter the suggestion rests on.")


class Recorded(BaseModel):
    """The act step's result: what the outside system now holds."""

    note_id: int


_ADDRESS = re.compile(r"(?im)^\s*ny adresse\s*:\s*(?P<address>.+?\b\d{4}\b.*?)\s*$")
_MOVED = re.compile(r"(?i)\bflytte[rt]?\s+til\s+(?P<address>[^.\n]+)")


def find_address(text: str) -> Suggestion:
    """The new address in a letter: sure when it is on a line of its own with a postcode,
    unsure when it is only mentioned in a sentence, nothing when there is none."""
    if match := _ADDRESS.search(text):
        return Suggestion(address=match["address"], confidence=0.95, evidence=match[0].strip())
    if match := _MOVED.search(text):
        return Suggestion(address=match["address"].strip(), confidence=0.5,
                          evidence=match[0].strip())
    return Suggestion(address=None, confidence=0.0, evidence="")


@robot.step(kind="preparatory")
def read_letter(case: Case, letter: Letter) -> Suggestion:
    """PREPARE: read and suggest, change nothing. May wait for sign-off, so it has no effects."""
    return find_address(mask_cpr(letter.text))


@robot.act(kind="preparatory")
def record_address(case: Case, decision: Decision[Suggestion]) -> Recorded:
    """ACT: runs only on an allowed or approved decision; writes once per work item."""
    chosen = decision.value  # the caseworker's amended value, if they amended it
    key = current_item().effect_key("note")  # the same on every retry and continuation
    with CaseSystemClient(os.environ["CASEWORK_CASE_SYSTEM_URL"],
                          os.environ["CASEWORK_CASE_SYSTEM_TOKEN"]) as client:
        note = client.create_journal_note(
            case.id, f"Ny adresse registreret: {chosen.address}",
            author="robot:address_change", idempotency_key=key)
    return Recorded(note_id=note.id)


def handle(letter: Letter) -> dict:
    """One work item, from its first step to its last."""
    case = Case(id=letter.case_id, department=letter.department,
                attributes={"protected": letter.protected},  # the policy's case.protected
                summary=mask_cpr(letter.subject))              # what the caseworker sees
    decision = require_signoff(read_letter(case, letter)).or_stop()
    recorded = require_signoff(record_address(case, decision)).or_stop().value
    return {"address_from": decision.status.value, "note_id": recorded.note_id}


@robot.flow()
def address_change(item_ids: list[str] | None = None) -> ItemsReport:
    """Process the queued letters: all new and ready ones, or only ``item_ids``."""
    return robot.process(handle, item_ids=item_ids)


if __name__ == "__main__":
    from casework.ops.prefect_env import run_flow  # one clear line if Prefect cannot start

    print(run_flow(address_change).counts)
