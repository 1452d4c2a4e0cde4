"""Earned autonomy in the policy schema and the engine (pure: measured numbers in, route out)."""

from __future__ import annotations

from pathlib import Path

import pytest

from casework.policy import PolicyError, load_policy, route
from casework.policy.engine import AgreementStats

POLICY = (
    "flow: earn\n"
    "ai_act: {risk: minimal}\n"
    "steps:\n"
    "  suggest:\n"
    "    kind: preparatory\n"
    "    effects: [suggests]\n"
    "    mode: autonomous\n"
    "    manual_minutes: 5\n"
    "    signoff_when: [confidence < 0.5]\n"
    "    autonomy: {earned: true, min_agreement: 0.9, window: 20, audit_sample: 0.1}\n"
)


@pytest.fixture
def policy(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "earn.yaml"
    path.write_text(POLICY)
    return load_policy(path)


FACTS = {"case": {}, "result": {}, "confidence": 0.9}


def test_not_earned_until_a_full_window_reaches_the_threshold(policy) -> None:
    for stats in (None, AgreementStats(decisions=19, kept=19),
                  AgreementStats(decisions=20, kept=17)):
        decided = route(policy, "suggest", FACTS, agreement=stats, audit_draw=0.99)
        assert (decided.mode, decided.earned) == ("signoff", False)
    decided = route(policy, "suggest", FACTS, agreement=AgreementStats(decisions=20, kept=18),
                    audit_draw=0.99)
    assert (decided.mode, decided.earned) == ("autonomous", True)


def test_reason_gives_the_numbers(policy) -> None:
    decided = route(policy, "suggest", FACTS, agreement=AgreementStats(decisions=20, kept=15),
                    audit_draw=0.5)
    assert decided.reasons == ["autonomy not earned: 15 of the last 20 suggestions kept "
                               "(75.0%); needs 90% over 20 decisions"]


def test_earned_steps_still_send_an_audit_sample_and_keep_their_conditions(policy) -> None:
    earned = AgreementStats(decisions=20, kept=20)
    sampled = route(policy, "suggest", FACTS, agreement=earned, audit_draw=0.05)
    assert sampled.mode == "signoff" and sampled.earned is True
    assert sampled.reasons[0].startswith("random audit sample (10%")
    unsure = route(policy, "suggest", {**FACTS, "confidence": 0.2}, agreement=earned,
                   audit_draw=0.99)
    assert unsure.reasons == ["signoff_when: confidence < 0.5"]
    assert route(policy, "suggest", FACTS, agreement=earned).mode == "signoff"  # no draw: safe


def test_earned_autonomy_needs_an_autonomous_mode(tmp_path: Path) -> None:
    path = tmp_path / "earn.yaml"
    path.write_text(POLICY.replace("mode: autonomous", "mode: signoff"))
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:10: steps.suggest.autonomy: earned autonomy is for a step whose mode is "
        "autonomous (the mode it earns); this step's mode is signoff"]


def test_bad_numbers_are_refused_with_their_field(tmp_path: Path) -> None:
    path = tmp_path / "earn.yaml"
    path.write_text(POLICY.replace("min_agreement: 0.9", "min_agreement: 1.5"))
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert "steps.suggest.autonomy.min_agreement" in str(caught.value.problems[0])


def test_scenarios_can_give_the_measured_agreement(tmp_path: Path) -> None:
    from casework.policy.scenarios import run_scenarios

    path = tmp_path / "earn.yaml"
    path.write_text(POLICY)
    (tmp_path / "earn.scenarios.yaml").write_text(
        "flow: earn\nscenarios:\n"
        "  - name: Not earned yet\n    steps:\n      suggest: {confidence: 0.9, expect: signoff}\n"
        "  - name: Earned\n    steps:\n      suggest:\n        confidence: 0.9\n"
        "        agreement: {decisions: 20, kept: 19}\n        expect: autonomous\n"
        "  - name: Audit sample\n    steps:\n      suggest:\n        confidence: 0.9\n"
        "        agreement: {decisions: 20, kept: 19}\n        audit_draw: 0.01\n"
        "        expect: signoff\n")
    run = run_scenarios(load_policy(path))
    assert [r.failures for r in run.results] == [[], [], []]


def test_shadow_mode_routes_every_case_to_a_person(tmp_path: Path) -> None:
    from casework.policy.engine import SHADOW_REASON

    path = tmp_path / "earn.yaml"
    path.write_text(POLICY.replace("mode: autonomous", "mode: shadow").replace(
        "    autonomy: {earned: true, min_agreement: 0.9, window: 20, audit_sample: 0.1}\n", ""))
    decided = route(load_policy(path), "suggest", FACTS)
    assert (decided.mode, decided.reasons) == ("shadow", [SHADOW_REASON])
