"""Shadow mode: the robot suggests while a person does the step. The inbox hides the robot's
answer, the person's own answer is used, nothing is counted as saved, and agreement is
measured for earned autonomy."""

from __future__ import annotations

import sys
from pathlib import Path
from uuid import uuid4

import pytest
from pydantic import BaseModel
from sqlalchemy import select

from casework.case import Case
from casework.db.models import AuditEvent, LedgerEntry, SignoffTask
from casework.db.session import reading
from casework.inbox.app import create_app
from casework.inbox.seed import seed_demo_users
from casework.ledger import Mode, Outcome
from casework.oversight.autonomy import agreement_stats
from casework.runtime import CaseworkFlow, StepOutcome, require_signoff

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "inbox"))
from inbox_helpers import csrf_of, login, settings  # noqa: E402

pytestmark = pytest.mark.usefixtures("prefect_api")


class Suggestion(BaseModel):
    kle: str
    title: str
    confidence: float


def make_flow(tmp_path: Path):  # type: ignore[no-untyped-def]
    name = f"shadow_{uuid4().hex[:8]}"
    policy = tmp_path / f"{name}.yaml"
    policy.write_text(f"flow: {name}\nsteps:\n  suggest:\n    kind: preparatory\n"
                      "    mode: shadow\n    manual_minutes: 6\n")
    robot = CaseworkFlow(name, policy_file=policy)

    @robot.step()
    def suggest(case: Case) -> Suggestion:
        return Suggestion(kle="02.34.02", title="Byggetilladelse", confidence=0.9)

    @robot.flow()
    def run(case_ids: list[str]) -> list[StepOutcome]:
        return [suggest(Case(id=c, department="byggeri", summary=f"Ansøgning {c}"))
                for c in case_ids]

    return name, run


def answer(client, task_id: str, kle_code: str):  # type: ignore[no-untyped-def]
    page = client.get(f"/tasks/{task_id}", params={"kle_q": kle_code})  # her own search
    version = page.text.split('name="version" value="')[1].split('"')[0]
    return client.post(f"/tasks/{task_id}/decide", follow_redirects=False, data={
        "csrf": csrf_of(page.text), "version": version, "decision": "answer",
        "kle_code": kle_code, "reason": ""})


def test_the_person_answers_blind_and_agreement_is_measured(tmp_path, db_engine):
    seed_demo_users(db_engine)
    name, run = make_flow(tmp_path)
    outcomes = run(["S-1", "S-2"])
    assert [o.mode for o in outcomes] == [Mode.SHADOW, Mode.SHADOW]
    first, second = (o.signoff_task_id for o in outcomes)

    anna = login(create_app(settings(), engine=db_engine), "anna.byg",
                 **{"Accept-Language": "en"})
    page = anna.get(f"/tasks/{first}")
    assert 'id="shadow-note"' in page.text
    assert "02.34.02" not in page.text and "Byggetilladelse" not in page.text  # hidden

    assert answer(anna, first, "02.34.02").status_code == 303   # same as the robot
    assert answer(anna, second, "02.34.30").status_code == 303  # she chose differently
    assert "Robotten foreslog noget andet." in anna.get(f"/tasks/{second}").text  # Danish user

    decided = [require_signoff(o, wait="record") for o in outcomes]
    assert [(d.status, d.proceed, d.value.kle) for d in decided] == [
        (Outcome.DONE_BY_PERSON, True, "02.34.02"), (Outcome.DONE_BY_PERSON, True, "02.34.30")]

    with reading(db_engine) as s:
        rows = s.scalars(select(LedgerEntry).where(LedgerEntry.flow == name)).all()
        tasks = s.scalars(select(SignoffTask).where(SignoffTask.flow == name)).all()
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.flow == name,
                                                            AuditEvent.action.like("shadow.%"))
                            ).all()
        stats = agreement_stats(s, name, "suggest", 200)
    assert {(r.mode, r.outcome, r.saved_minutes) for r in rows} == {
        ("shadow", "done_by_person", 0.0)}
    assert {t.kind for t in tasks} == {"shadow"}
    assert sorted(actions) == ["shadow.agreed", "shadow.differed"]
    assert (stats.decisions, stats.kept) == (2, 1)


def test_a_shadow_task_takes_only_an_answer(tmp_path, db_engine):
    seed_demo_users(db_engine)
    _, run = make_flow(tmp_path)
    task_id = run(["S-3"])[0].signoff_task_id
    anna = login(create_app(settings(), engine=db_engine), "anna.byg")
    page = anna.get(f"/tasks/{task_id}")
    version = page.text.split('name="version" value="')[1].split('"')[0]
    refused = anna.post(f"/tasks/{task_id}/decide", data={
        "csrf": csrf_of(page.text), "version": version, "decision": "approved"})
    assert refused.status_code == 400  # approving a hidden answer would be a rubber stamp
