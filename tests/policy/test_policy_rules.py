"""The legal rules of a policy: each one's exact message and the file, line and field it names."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from policy_helpers import WritePolicy

from casework.policy import PolicyError, load_policy, route
from casework.policy.catalogue import EFFECTS, HEARING_EXCEPTIONS
from casework.policy.engine import ADVERSE_PREPARATORY_REASON, NO_AUTOMATION_BASIS_REASON
from casework.policy.loader import readiness_problems
from casework.policy.model import Art63Condition, Effect, HearingException, StepPolicy
from casework.policy.rules import (
    ANNEX_III_NOT_EXEMPT_MESSAGE,
    AUTOMATED_DECISION_MESSAGE,
    DECISION_CLAIMS_ART_6_3_MESSAGE,
    DECISION_ONLY_FIELD_MESSAGE,
    EXCEPTION_WITHOUT_EXEMPT_MESSAGE,
    EXEMPT_NEEDS_EXCEPTION_MESSAGE,
    HIGH_RISK_NEEDS_DPIA_MESSAGE,
    HIGH_RISK_NEEDS_FRIA_MESSAGE,
    HIGH_RISK_NEEDS_POINT_MESSAGE,
    MISSING_AI_ACT_MESSAGE,
    NEEDS_CONSIDERATIONS_MESSAGE,
    NEEDS_EFFECTS_MESSAGE,
    NEEDS_FACTS_MESSAGE,
    NEEDS_LEGAL_BASIS_MESSAGE,
    PREPARATORY_ADVERSE_MESSAGE,
)

FILE = "policies/journal_placement.yaml"
HEAD = "flow: journal_placement\nai_act: {risk: minimal}\nsteps:\n"          # lines 1-3
DECISION = (
    "  decide:\n"                                                            # 4
    "    kind: decision\n"                                                   # 5
    "    mode: signoff\n"                                                    # 6
    "    manual_minutes: 20\n"                                               # 7
    "    effects: [rejects_application]\n"                                   # 8
    "    legal_basis: [Lov om social service § 41]\n"                        # 9
    "    facts_relied_on: [documented extra costs]\n"                        # 10
)  # fmt: skip


def problems(path: Path) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    return [str(problem) for problem in caught.value.problems]


def test_a_complete_decision_step_loads(write_policy: WritePolicy) -> None:
    policy = load_policy(write_policy(HEAD + DECISION))
    step = policy.step("decide")
    assert (step.effective_hearing, step.hearing_reply_days) == ("auto", 14)
    assert readiness_problems(policy) == []


def test_catalogue_and_model_name_the_same_codes() -> None:
    from typing import get_args

    from casework.policy.catalogue import ART_6_3_CONDITIONS

    assert set(EFFECTS) == set(get_args(Effect))
    assert set(HEARING_EXCEPTIONS) == set(get_args(HearingException))
    assert len(HEARING_EXCEPTIONS) == 6  # § 19, stk. 2, nr. 1-6
    assert set(ART_6_3_CONDITIONS) == set(get_args(Art63Condition))


# --- preparatory or decision ------------------------------------------------------------------


def test_preparatory_step_with_an_adverse_effect_is_a_decision(write_policy: WritePolicy) -> None:
    text = HEAD + (
        "  close:\n    kind: preparatory\n    mode: autonomous\n    manual_minutes: 2\n"
        "    effects:\n      - routes_case\n      - closes_case\n"  # line 10
    )
    assert problems(write_policy(text)) == [
        f"{FILE}:10: steps.close.effects[1]: a preparatory step cannot have the adverse effect "
        "'closes_case' (closes the case): that decides a citizen's rights, so the step is a "
        "decision (afgørelse); set 'kind: decision'"
    ]
    assert PREPARATORY_ADVERSE_MESSAGE.format(effect="x", meaning="y").startswith(
        "a preparatory step cannot have the adverse effect 'x' (y)"
    )


def test_unknown_effect_is_a_schema_error(write_policy: WritePolicy) -> None:
    text = HEAD + "  a: {kind: preparatory, mode: manual, manual_minutes: 1, effects: [deletes]}\n"
    found = problems(write_policy(text))
    assert len(found) == 1
    assert found[0].startswith(f"{FILE}:4: steps.a.effects[0]: must be one of collects_data, ")
    assert found[0].endswith("imposes_obligation (got 'deletes')")


def test_decision_fields_on_a_preparatory_step(write_policy: WritePolicy) -> None:
    text = HEAD + (
        "  read:\n    kind: preparatory\n    mode: autonomous\n    manual_minutes: 2\n"
        "    facts_relied_on: [x]\n"        # 8
        "    hearing: auto\n"               # 9
    )  # fmt: skip
    assert problems(write_policy(text)) == [
        f"{FILE}:8: steps.read.facts_relied_on: "
        + DECISION_ONLY_FIELD_MESSAGE.format(field="facts_relied_on"),
        f"{FILE}:9: steps.read.hearing: " + DECISION_ONLY_FIELD_MESSAGE.format(field="hearing"),
    ]
    assert DECISION_ONLY_FIELD_MESSAGE.format(field="hearing") == (
        "only a decision step has 'hearing'; this step is preparatory (it decides nothing)"
    )


# --- a decision gives reasons (forvaltningsloven §§ 22-24) ------------------------------------


def test_decision_needs_effects_legal_basis_and_facts(write_policy: WritePolicy) -> None:
    text = HEAD + "  decide:\n    kind: decision\n    mode: signoff\n    manual_minutes: 20\n"
    assert problems(write_policy(text)) == [
        f"{FILE}:4: steps.decide.effects: " + NEEDS_EFFECTS_MESSAGE,
        f"{FILE}:4: steps.decide.legal_basis: " + NEEDS_LEGAL_BASIS_MESSAGE,
        f"{FILE}:4: steps.decide.facts_relied_on: " + NEEDS_FACTS_MESSAGE,
    ]
    assert NEEDS_LEGAL_BASIS_MESSAGE == (
        "a decision step needs a legal_basis: the provisions it applies "
        "(forvaltningsloven § 24, stk. 1)"
    )
    assert NEEDS_FACTS_MESSAGE == (
        "a decision step needs facts_relied_on: the facts of essential importance it rests on "
        "(forvaltningsloven § 24, stk. 2)"
    )


def test_empty_lists_are_pointed_at_their_own_line(write_policy: WritePolicy) -> None:
    text = HEAD + DECISION.replace("[documented extra costs]", "[]")
    assert problems(write_policy(text)) == [f"{FILE}:10: steps.decide.facts_relied_on: "
                                            + NEEDS_FACTS_MESSAGE]


def test_discretion_needs_main_considerations(write_policy: WritePolicy) -> None:
    text = HEAD + DECISION + "    discretion: true\n"
    assert problems(write_policy(text)) == [
        f"{FILE}:4: steps.decide.main_considerations: a decision with 'discretion: true' needs "
        "main_considerations: the main considerations behind the discretionary assessment "
        "(forvaltningsloven § 24, stk. 1)"
    ]
    assert NEEDS_CONSIDERATIONS_MESSAGE in problems(write_policy(text))[0]
    good = text + "    main_considerations: [the child's need for stable care]\n"
    assert load_policy(write_policy(good)).step("decide").discretion is True


def test_manual_decision_needs_no_reasons_from_the_policy(write_policy: WritePolicy) -> None:
    text = HEAD + "  decide: {kind: decision, mode: manual, manual_minutes: 20}\n"
    assert load_policy(write_policy(text)).step("decide").mode == "manual"


# --- automated decisions (GDPR Art. 22(2)(b)) -------------------------------------------------


def test_autonomous_decision_needs_an_automation_legal_basis(write_policy: WritePolicy) -> None:
    text = HEAD + DECISION.replace("mode: signoff", "mode: autonomous")
    assert problems(write_policy(text)) == [
        f"{FILE}:6: steps.decide.mode: a decision step can only be autonomous with an "
        "automation_legal_basis naming the national law that permits automated decisions "
        "(GDPR Art. 22(2)(b)); otherwise use 'mode: signoff'"
    ]
    assert AUTOMATED_DECISION_MESSAGE in problems(write_policy(text))[0]
    good = text + "    automation_legal_basis: [Lov om X § 12 (automatiske afgørelser)]\n"
    assert load_policy(write_policy(good)).step("decide").mode == "autonomous"


def test_engine_forces_signoff_for_an_unlawful_policy_object(write_policy: WritePolicy) -> None:
    text = HEAD + DECISION + "    automation_legal_basis: [Lov om X § 12]\n"
    text = text.replace("mode: signoff", "mode: autonomous")
    text += "  read: {kind: preparatory, mode: autonomous, manual_minutes: 1}\n"
    policy = load_policy(write_policy(text))
    assert route(policy, "decide", {}).mode == "autonomous"
    no_basis = policy.step("decide").model_copy(update={"automation_legal_basis": []})
    adverse = policy.step("read").model_copy(update={"effects": ["closes_case"]})
    steps = {"decide": no_basis, "read": adverse}
    hand_built = dataclasses.replace(policy, model=policy.model.model_copy(update={"steps": steps}))
    assert route(hand_built, "decide", {}).reasons == [NO_AUTOMATION_BASIS_REASON]
    assert route(hand_built, "read", {}).reasons == [ADVERSE_PREPARATORY_REASON]
    unsafe = StepPolicy.model_construct(kind="decision", mode="autonomous", manual_minutes=1,
                                        legal_basis=["x"], signoff_when=[])
    steps = {**steps, "decide": unsafe}
    hand_built = dataclasses.replace(policy, model=policy.model.model_copy(update={"steps": steps}))
    assert route(hand_built, "decide", {}).mode == "signoff"


# --- party hearing (forvaltningsloven § 19) ---------------------------------------------------


def test_hearing_exempt_needs_a_known_exception(write_policy: WritePolicy) -> None:
    text = HEAD + DECISION + "    hearing: exempt\n"
    assert problems(write_policy(text)) == [
        f"{FILE}:4: steps.decide.hearing_exception: 'hearing: exempt' needs a "
        "hearing_exception, one of fvl19_2_1, fvl19_2_2, fvl19_2_3, fvl19_2_4, fvl19_2_5, "
        "fvl19_2_6 (forvaltningsloven § 19, stk. 2)"
    ]
    assert EXEMPT_NEEDS_EXCEPTION_MESSAGE in problems(write_policy(text))[0]
    unknown = text + "    hearing_exception: urgent\n"
    assert problems(write_policy(unknown)) == [
        f"{FILE}:12: steps.decide.hearing_exception: must be one of fvl19_2_1, fvl19_2_2, "
        "fvl19_2_3, fvl19_2_4, fvl19_2_5, fvl19_2_6 (got 'urgent')"
    ]
    good = text + "    hearing_exception: fvl19_2_2\n"
    assert load_policy(write_policy(good)).step("decide").effective_hearing == "exempt"


def test_hearing_exception_without_exempt(write_policy: WritePolicy) -> None:
    text = HEAD + DECISION + "    hearing_exception: fvl19_2_1\n"
    assert problems(write_policy(text)) == [
        f"{FILE}:11: steps.decide.hearing_exception: " + EXCEPTION_WITHOUT_EXEMPT_MESSAGE
    ]


@pytest.mark.parametrize(("days", "got"), [("0", "0"), ("400", "400"), ("2.5", "2.5")])
def test_hearing_reply_days(write_policy: WritePolicy, days: str, got: str) -> None:
    text = HEAD + DECISION + f"    hearing_reply_days: {days}\n"
    assert problems(write_policy(text)) == [
        f"{FILE}:11: steps.decide.hearing_reply_days: must be a whole number of days from 1 to "
        f"365 (got {got})"
    ]


# --- AI Act -----------------------------------------------------------------------------------


def test_high_risk_flow_needs_point_dpia_and_fria(write_policy: WritePolicy) -> None:
    text = "flow: journal_placement\nai_act:\n  risk: high\nsteps:\n" + DECISION
    assert problems(write_policy(text)) == [
        f"{FILE}:2: ai_act.annex_iii_point: " + HIGH_RISK_NEEDS_POINT_MESSAGE,
        f"{FILE}:2: ai_act.dpia: " + HIGH_RISK_NEEDS_DPIA_MESSAGE,
        f"{FILE}:2: ai_act.fria: " + HIGH_RISK_NEEDS_FRIA_MESSAGE,
    ]
    assert HIGH_RISK_NEEDS_FRIA_MESSAGE == (
        "a high-risk flow needs fria: a reference to its fundamental-rights impact assessment "
        "(AI Act Art. 27)"
    )
    good = text.replace(
        "  risk: high\n",
        "  risk: high\n  annex_iii_point: 5(a)\n  dpia: DPIA-2026-07\n  fria: FRIA-2026-03\n",
    )
    assert load_policy(write_policy(good)).model.ai_act.annex_iii_point == "5(a)"


def test_annex_iii_point_format(write_policy: WritePolicy) -> None:
    text = "flow: journal_placement\nai_act: {risk: high, annex_iii_point: 'five'}\nsteps:\n"
    assert problems(write_policy(text + DECISION))[0] == (
        f"{FILE}:2: ai_act.annex_iii_point: must be an Annex III point such as '5(a)' "
        "(got 'five')"
    )


def test_art_6_3_exemption(write_policy: WritePolicy) -> None:
    head = "flow: journal_placement\nai_act: {risk: minimal, annex_iii_point: 5(a)}\nsteps:\n"
    read = (
        "  read:\n    kind: preparatory\n    mode: autonomous\n    manual_minutes: 2\n"
        "    ai_act_exemption: {condition: d, reason: only sorts letters for the caseworker}\n"
    )
    assert load_policy(write_policy(head + read)).step("read").ai_act_exemption is not None
    no_claim = read.replace(
        "    ai_act_exemption: {condition: d, reason: only sorts letters for the caseworker}\n", ""
    )
    assert problems(write_policy(head + no_claim)) == [
        f"{FILE}:2: ai_act.risk: "
        + ANNEX_III_NOT_EXEMPT_MESSAGE.format(point="5(a)", step="read")
    ]
    no_reason = read.replace(", reason: only sorts letters for the caseworker", "")
    assert problems(write_policy(head + no_reason)) == [
        f"{FILE}:8: steps.read.ai_act_exemption: missing required field 'reason'"
    ]
    decision = DECISION + "    ai_act_exemption: {condition: a, reason: it is narrow}\n"
    found = problems(write_policy(HEAD + decision))
    assert found == [f"{FILE}:11: steps.decide.ai_act_exemption: "
                     + DECISION_CLAIMS_ART_6_3_MESSAGE]


def test_missing_ai_act_block_is_a_readiness_problem(write_policy: WritePolicy) -> None:
    text = "flow: journal_placement\nsteps:\n" + DECISION
    policy = load_policy(write_policy(text))  # the runtime can still load it
    assert [str(p) for p in readiness_problems(policy)] == [
        f"{FILE}:1: ai_act: missing required field 'ai_act': classify the flow under the AI Act "
        "(risk: minimal or high) before it goes live"
    ]
    assert MISSING_AI_ACT_MESSAGE.startswith("missing required field 'ai_act'")


def test_rules_of_valid_steps_are_reported_beside_schema_errors(
    write_policy: WritePolicy,
) -> None:
    text = HEAD + DECISION.replace("    facts_relied_on: [documented extra costs]\n", "")
    text += "  broken: {kind: preparatory, mode: auto, manual_minutes: 1}\n"
    assert problems(write_policy(text)) == [
        f"{FILE}:4: steps.decide.facts_relied_on: " + NEEDS_FACTS_MESSAGE,
        f"{FILE}:10: steps.broken.mode: must be one of autonomous, signoff, manual, shadow "
        "(got 'auto')",
    ]


def test_repository_policy_is_ready() -> None:
    repo = Path(__file__).resolve().parents[2]
    policy = load_policy(repo / "policies" / "journal_placement.yaml")
    assert readiness_problems(policy) == []
    assert policy.model.ai_act is not None and policy.model.ai_act.risk == "minimal"
