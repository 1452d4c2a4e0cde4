"""Flows the crash suite deploys to a real worker: a batch that files one journal note per
case in the case-system stand-in (idempotency key from the case id), and the same with a
caseworker's sign-off before the note is filed."""

from __future__ import annotations

import os
import time
from pathlib import Path

from prefect import task
from pydantic import BaseModel

from casework.case import Case
from casework.items.memo import current_item
from casework.runtime import CaseworkFlow, Decision, require_signoff
from connectors.case_system import CaseSystemClient

POLICIES = Path(__file__).parent / "policies"
batch_robot = CaseworkFlow("crash_batch", policy_file=POLICIES / "crash_batch.yaml")
signoff_robot = CaseworkFlow("crash_signoff", policy_file=POLICIES / "crash_signoff.yaml")


class NoteDraft(BaseModel):
    text: str
    confidence: float


def _client() -> CaseSystemClient:
    return CaseSystemClient(os.environ["CRASH_CASE_SYSTEM_URL"], "crash-token")


@task
def file_note(flow: str, case_id: str, text: str) -> int:
    """The side effect, keyed by the case: a repeat finds the first note instead of a copy."""
    with _client() as cases:
        return cases.create_journal_note(case_id, text, author=f"robot:{flow}",
                                         idempotency_key=f"{flow}:{case_id}:note").id


@batch_robot.step(kind="preparatory")
def draft_note(case: Case) -> NoteDraft:
    time.sleep(float(os.environ.get("CRASH_STEP_SECONDS", "0.2")))  # the robot's work
    return NoteDraft(text=f"Modtaget og gennemgået ({case.id})", confidence=0.9)


@batch_robot.flow()
def crash_batch(case_ids: list[str]) -> int:
    for case_id in case_ids:
        decision = require_signoff(draft_note(Case(id=case_id, department="byggeri")))
        file_note("crash_batch", case_id, decision.value.text)
    return len(case_ids)


@signoff_robot.step(name="draft_note", kind="preparatory")
def draft_signed_note(case: Case) -> NoteDraft:
    return NoteDraft(text=f"Godkendt notat ({case.id})", confidence=0.4)


@signoff_robot.flow()
def crash_signoff(case_ids: list[str]) -> list[str]:
    statuses = []
    for case_id in case_ids:
        decision = require_signoff(draft_signed_note(Case(id=case_id, department="byggeri",
                                                          summary="Notat til sagen")))
        if decision.proceed:
            file_note("crash_signoff", case_id, decision.value.text)
        statuses.append(decision.status.value)
    return statuses


# -- work items: the same batch as a queue of cases, each leased by the run that takes it -----

items_robot = CaseworkFlow("crash_items", policy_file=POLICIES / "crash_items.yaml")


class CaseItem(BaseModel):
    case_id: str


@items_robot.step(name="draft_note", kind="preparatory")
def draft_item_note(case: Case) -> NoteDraft:
    time.sleep(float(os.environ.get("CRASH_STEP_SECONDS", "0.2")))  # the robot's work
    return NoteDraft(text=f"Modtaget og gennemgået ({case.id})", confidence=0.9)


@items_robot.act(name="file_note", kind="preparatory")
def file_item_note(case: Case, decision: Decision[NoteDraft]) -> int:
    """The side effect, keyed by the work item: a repeat finds the first note."""
    item = current_item()
    assert item is not None
    with _client() as cases:
        return cases.create_journal_note(case.id, decision.value.text, author="robot:crash_items",
                                         idempotency_key=item.effect_key("note")).id


def note_case(item: CaseItem) -> dict:
    case = Case(id=item.case_id, department="byggeri")
    drafted = require_signoff(draft_item_note(case)).or_stop()
    require_signoff(file_item_note(case, drafted)).or_stop()
    return {"status": "filed"}


@items_robot.flow()
def crash_items(item_ids: list[str] | None = None) -> dict[str, int]:
    return items_robot.process(note_case, item_ids=item_ids).counts
