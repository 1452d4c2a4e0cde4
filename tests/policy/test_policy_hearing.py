"""When a decision must wait for a party hearing (forvaltningsloven § 19)."""

from __future__ import annotations

from dataclasses import dataclass

from casework.policy.hearing import GatheredFact, hearing_required
from casework.policy.model import StepPolicy

DECISION = {"kind": "decision", "mode": "signoff", "manual_minutes": 20,
            "effects": ["rejects_application"], "legal_basis": ["x"], "facts_relied_on": ["y"]}


def step(**extra: object) -> StepPolicy:
    return StepPolicy.model_validate({**DECISION, **extra})


def test_adverse_material_fact_from_a_registry_needs_a_hearing() -> None:
    facts = [GatheredFact(name="income 2025", source="registry:eindkomst", adverse=True),
             GatheredFact(name="address", source="registry:cpr", adverse=False)]
    decision = hearing_required(step(hearing_reply_days=10), facts)
    assert decision.required and decision.outcome == "hearing"
    assert decision.reply_days == 10
    assert decision.facts == ["income 2025 (registry:eindkomst)"]
    assert decision.reason == ("adverse, material facts from other sources must be put to the "
                               "party: income 2025 (registry:eindkomst)")


def test_facts_from_the_party_or_immaterial_or_favourable_need_none() -> None:
    facts = [GatheredFact(name="own statement", source="party", adverse=True),
             GatheredFact(name="old note", source="case:123", adverse=True, material=False),
             GatheredFact(name="grant", source="registry:x", adverse=False)]
    decision = hearing_required(step(), facts)
    assert not decision.required and decision.outcome == "not_needed"
    assert hearing_required(step(), []).outcome == "not_needed"


def test_exemption_and_preparatory_steps() -> None:
    adverse = [GatheredFact(name="income", source="registry:x", adverse=True)]
    exempt = hearing_required(step(hearing="exempt", hearing_exception="fvl19_2_2"), adverse)
    assert (exempt.required, exempt.outcome, exempt.exception) == (False, "exempt", "fvl19_2_2")
    assert "statutory deadline" in exempt.reason
    prep = StepPolicy.model_validate({"kind": "preparatory", "mode": "autonomous",
                                      "manual_minutes": 1})
    assert hearing_required(prep, adverse).outcome == "not_a_decision"


def test_any_fact_like_object_works_and_unknown_materiality_counts() -> None:
    @dataclass
    class Found:
        source: str
        adverse: bool

    assert hearing_required(step(), [Found("case:77", True)]).facts == ["case:77"]
    assert not hearing_required(step(), [Found("Party", True)]).required
