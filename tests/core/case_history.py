"""A case that went through routing (autonomous), journal placement (sign-off, amended by a
caseworker) and a decision (sign-off, approved by a team lead): run by the real step runtime
on the real Prefect API, decided through the inbox's own decision code."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

from pydantic import BaseModel
from sqlalchemy import select

from casework.case import Case
from casework.db.models import SignoffTask
from casework.db.session import get_engine, reading
from casework.inbox import decisions
from casework.inbox.identity import load_user
from casework.inbox.seed import seed_demo_users
from casework.runtime import CaseworkFlow, require_signoff

CPR = "120379-1234"
LEGAL_BASIS = "Byggeloven § 16"
FACT = "the plans of the carport"

POLICY = f"""\
description: Building permits for small buildings.
department: byggeri
steps:
  route_case:
    kind: preparatory
    effects: [routes_case]
    mode: autonomous
    manual_minutes: 2
    description: Send the application to the team for small buildings.
  suggest_journal:
    kind: preparatory
    effects: [suggests, journals_document]
    mode: signoff
    manual_minutes: 6
    description: Suggest a KLE journal number for the application.
    signoff_by: {{roles: [caseworker]}}
  decide_permit:
    kind: decision
    effects: [grants_application]
    legal_basis: ["{LEGAL_BASIS}"]
    facts_relied_on: ["{FACT}", the size of the plot]
    mode: signoff
    manual_minutes: 20
    description: Decide whether the carport may be built.
    signoff_by: {{roles: [caseworker, team_lead]}}
"""


class Team(BaseModel):
    team: str
    confidence: float


class Journal(BaseModel):
    kle: str
    title: str
    confidence: float


class Permit(BaseModel):
    outcome: str
    conditions: str


def run_case(tmp_path: Path, case_id: str) -> dict[str, str]:
    """Run the three steps for ``case_id``, then decide as Anna (amend) and Lise (approve).
    Returns the sign-off task ids by step."""
    name = f"permit_{uuid4().hex[:8]}"
    policy = tmp_path / f"{name}.yaml"
    policy.write_text(f"flow: {name}\n{POLICY}")
    robot = CaseworkFlow(name, policy_file=policy)

    @robot.step(kind="preparatory")
    def route_case(case: Case) -> Team:
        return Team(team="small-buildings", confidence=0.97)

    @robot.step(kind="preparatory")
    def suggest_journal(case: Case) -> Journal:
        return Journal(kle="02.34.02", title="Byggetilladelse", confidence=0.5)

    @robot.step(kind="decision")
    def decide_permit(case: Case) -> Permit:
        return Permit(outcome="granted", conditions="max 40 m2")

    @robot.flow()
    def run(case_id: str) -> None:
        case = Case(id=case_id, department="byggeri",
                    summary=f"Borger {CPR} søger om carport på 38 m2")
        require_signoff(route_case(case))
        require_signoff(suggest_journal(case), wait="record")
        require_signoff(decide_permit(case), wait="record")

    seed_demo_users()
    run(case_id)
    engine = get_engine()
    with reading() as s:
        tasks = {t.step: t.id for t in s.scalars(select(SignoffTask))}
        anna, lise = load_user(s, "anna.byg"), load_user(s, "lise.leder")
    assert anna is not None and lise is not None
    decisions.decide(engine, anna, tasks["suggest_journal"], decision="amended", version=1,
                     reason="Det er en carport, ikke et nyt hus",
                     value={"kle": "02.34.24", "title": "Carporte og garager"})
    decisions.decide(engine, lise, tasks["decide_permit"], decision="approved", version=1)
    return tasks
