"""Routing: which steps run on their own, which wait for sign-off, and why."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from policy_helpers import WritePolicy

from casework.policy import Policy, Route, StepPolicy, load_policy, route
from casework.policy.engine import NO_LEGAL_BASIS_REASON

POLICY = """\
flow: journal_placement
steps:
  read_letter: {kind: preparatory, mode: autonomous, manual_minutes: 2}
  check_identity: {kind: preparatory, mode: manual, manual_minutes: 4}
  suggest_journal:
    kind: preparatory
    mode: autonomous
    manual_minutes: 6
    signoff_when:
      - confidence < 0.6
      - case.sensitive
      - case.amount > 50000 or result.kle in ['32.18.04', "27.24.00"]
  grant_benefit:
    kind: decision
    mode: signoff
    manual_minutes: 20
    signoff_when: [confidence < 0.6]
    effects: [grants_application, rejects_application]
    legal_basis: ["Lov om social service § 41"]
    facts_relied_on: [the documented extra costs]
"""

CALM: dict[str, Any] = {
    "confidence": 0.9,
    "case": {"sensitive": False, "amount": 100},
    "result": {"kle": "00.01.00"},
}


@pytest.fixture
def policy(write_policy: WritePolicy) -> Policy:
    return load_policy(write_policy(POLICY))


def test_autonomous_when_no_condition_holds(policy: Policy) -> None:
    assert route(policy, "suggest_journal", CALM) == Route(mode="autonomous", reasons=[])
    assert route(policy, "read_letter", {}) == Route(mode="autonomous", reasons=[])


def test_manual_and_signoff_modes(policy: Policy) -> None:
    assert route(policy, "check_identity", CALM) == Route(
        mode="manual", reasons=["policy mode is manual"]
    )
    assert route(policy, "check_identity", CALM, force_signoff="stop").mode == "manual"
    assert route(policy, "grant_benefit", CALM) == Route(
        mode="signoff", reasons=["policy mode is signoff"]
    )


def test_each_true_condition_is_a_reason(policy: Policy) -> None:
    facts = {**CALM, "confidence": 0.4, "result": {"kle": "27.24.00"}}
    assert route(policy, "suggest_journal", facts) == Route(
        mode="signoff",
        reasons=[
            "signoff_when: confidence < 0.6",
            "signoff_when: case.amount > 50000 or result.kle in ['32.18.04', \"27.24.00\"]",
        ],
    )
    sensitive = {**CALM, "case": {"sensitive": True, "amount": 100}}
    assert route(policy, "suggest_journal", sensitive).reasons == ["signoff_when: case.sensitive"]


def test_missing_facts_fail_safe_to_signoff(policy: Policy) -> None:
    assert route(policy, "suggest_journal", {}) == Route(
        mode="signoff",
        reasons=[
            "could not evaluate: confidence < 0.6",
            "could not evaluate: case.sensitive",
            "could not evaluate: case.amount > 50000 or result.kle in ['32.18.04', \"27.24.00\"]",
        ],
    )
    facts = {**CALM, "case": {"sensitive": "no", "amount": "100"}}  # wrong types
    assert route(policy, "suggest_journal", facts).reasons == [
        "signoff_when: case.sensitive",
        "could not evaluate: case.amount > 50000 or result.kle in ['32.18.04', \"27.24.00\"]",
    ]


def test_true_or_unknown_is_true_so_no_unknown_reason(policy: Policy) -> None:
    facts = {"confidence": 0.9, "case": {"sensitive": False}, "result": {"kle": "32.18.04"}}
    assert route(policy, "suggest_journal", facts).reasons == [
        "signoff_when: case.amount > 50000 or result.kle in ['32.18.04', \"27.24.00\"]"
    ]


def test_force_signoff(policy: Policy) -> None:
    assert route(policy, "read_letter", CALM, force_signoff="stopped by admin") == Route(
        mode="signoff", reasons=["stopped by admin"]
    )
    assert route(policy, "read_letter", CALM, force_signoff="").reasons == ["sign-off forced"]
    assert route(policy, "grant_benefit", CALM, force_signoff="stop").reasons == [
        "policy mode is signoff",
        "stop",
    ]


def test_decision_without_legal_basis_is_never_autonomous(policy: Policy) -> None:
    # The loader refuses such a file; a hand-built policy must still not run unsupervised.
    unsafe = StepPolicy.model_construct(
        kind="decision", mode="autonomous", manual_minutes=1, legal_basis=[], signoff_when=[]
    )
    steps = {**policy.model.steps, "grant_benefit": unsafe}
    hand_built = dataclasses.replace(
        policy, model=policy.model.model_copy(update={"steps": steps}), conditions={}
    )
    assert route(hand_built, "grant_benefit", CALM) == Route(
        mode="signoff", reasons=[NO_LEGAL_BASIS_REASON]
    )
    # Conditions are still honoured when a hand-built policy has none parsed.
    assert route(hand_built, "suggest_journal", {}).mode == "signoff"


def test_unknown_step(policy: Policy) -> None:
    with pytest.raises(KeyError, match="has no step 'nope'"):
        route(policy, "nope", CALM)

