"""Four-eyes, attacked from every deciding path: approve, amend, shadow answer, claim, reassign."""

from __future__ import annotations

import pytest
from inbox_helpers import csrf_of, decide, new_case_ref

from casework.db.models import SignoffTask
from casework.db.session import reading


def _first_round(as_user, task_factory, how: str) -> str:
    case_ref = new_case_ref()
    first = task_factory(case_ref=case_ref, step="classify")
    extra = {"kle_code": "02.00.05"} if how == "amended" else {}
    assert decide(as_user("anna.byg"), first, how, reason="rettet", **extra).status_code == 303
    return case_ref


@pytest.mark.parametrize("first_round", ["amended", "approved"])
@pytest.mark.parametrize("attempt", ["approved", "amended"])
def test_first_round_decider_can_neither_approve_nor_amend(as_user, task_factory, engine,
                                                          first_round, attempt):
    case_ref = _first_round(as_user, task_factory, first_round)
    second = task_factory(case_ref=case_ref, step="decide", four_eyes=True)
    extra = {"kle_code": "02.34.02"} if attempt == "amended" else {}
    refused = decide(as_user("anna.byg"), second, attempt, reason="igen", **extra)
    assert refused.status_code == 403  # defect 2: "amend and approve" went through
    assert "fire-øjne" in refused.text
    with reading(engine) as s:
        assert s.get(SignoffTask, second).status == "awaiting"
    assert decide(as_user("bo.byg"), second, "approved").status_code == 303


def test_first_round_decider_may_reject(as_user, task_factory):
    case_ref = _first_round(as_user, task_factory, "amended")
    second = task_factory(case_ref=case_ref, step="decide", four_eyes=True)
    assert decide(as_user("anna.byg"), second, "rejected", reason="forkert").status_code == 303


def test_first_round_decider_cannot_claim_or_be_handed_the_task(as_user, task_factory):
    case_ref = _first_round(as_user, task_factory, "amended")
    second = task_factory(case_ref=case_ref, step="decide", four_eyes=True)
    anna = as_user("anna.byg")
    page = anna.get(f"/tasks/{second}")
    claimed = anna.post(f"/tasks/{second}/claim", data={"csrf": csrf_of(page.text)},
                        follow_redirects=False)
    assert claimed.status_code == 409
    lise = as_user("lise.leder")
    handed = lise.post(f"/tasks/{second}/release",
                       data={"csrf": csrf_of(lise.get(f"/tasks/{second}").text),
                             "reassign_to": "anna.byg"}, follow_redirects=False)
    assert handed.status_code == 409


def test_shadow_answer_counts_as_a_decision(as_user, task_factory, engine):
    case_ref = _first_round(as_user, task_factory, "amended")
    shadow = task_factory(case_ref=case_ref, step="decide", four_eyes=True)
    from sqlalchemy import update

    from casework.db.session import transaction

    with transaction(engine) as s:
        s.execute(update(SignoffTask).where(SignoffTask.id == shadow).values(kind="shadow"))
    refused = decide(as_user("anna.byg"), shadow, "answer", kle_code="02.34.02")
    assert refused.status_code == 403 and "fire-øjne" in refused.text


def test_policy_reference_and_docs_say_the_same():
    from pathlib import Path

    from casework.policy.docs import LABELS

    readme = (Path(__file__).resolve().parents[2] / "policies" / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| `four_eyes`"))
    assert "approved or amended" in row and "neither approve nor amend" in row
    assert "neither approve nor amend" in LABELS["en"]["four_eyes"]
    assert "hverken godkende eller rette" in LABELS["da"]["four_eyes"]
