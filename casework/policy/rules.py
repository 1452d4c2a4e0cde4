"""The legal rules a policy must meet beyond its shape: lawful by construction.

Each rule reads the validated model and names the field it objects to, so the loader can point
the author at the YAML line. Messages are constants (or templates) so tests, docs and the
engine quote the same words.

- A step whose declared effect is adverse decides a citizen's rights: it is a decision
  (afgørelse), never preparatory work (faktisk forvaltningsvirksomhed).
- A decision cites rules, facts and, where there is discretion, the main considerations
  (forvaltningsloven §§ 22–24), and runs on its own only where national law permits automated
  decisions (GDPR Art. 22(2)(b); Norwegian forvaltningsloven 2025 §§ 11–12).
- Skipping the party hearing needs a coded exception (forvaltningsloven § 19, stk. 2).
- A high-risk flow under the AI Act names its Annex III point, DPIA and FRIA (Art. 27).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from casework.policy.catalogue import EFFECTS, HEARING_EXCEPTIONS, is_adverse
from casework.policy.model import AiAct, FlowPolicy, StepPolicy

_EXCEPTION_CODES = ", ".join(HEARING_EXCEPTIONS)

PREPARATORY_ADVERSE_MESSAGE = (
    "a preparatory step cannot have the adverse effect '{effect}' ({meaning}): "
    "that decides a citizen's rights, so the step is a decision (afgørelse); "
    "set 'kind: decision'"
)
DECISION_ONLY_FIELD_MESSAGE = (
    "only a decision step has '{field}'; this step is preparatory (it decides nothing)"
)
NEEDS_LEGAL_BASIS_MESSAGE = (
    "a decision step needs a legal_basis: the provisions it applies "
    "(forvaltningsloven § 24, stk. 1)"
)
NEEDS_FACTS_MESSAGE = (
    "a decision step needs facts_relied_on: the facts of essential importance it rests on "
    "(forvaltningsloven § 24, stk. 2)"
)
NEEDS_CONSIDERATIONS_MESSAGE = (
    "a decision with 'discretion: true' needs main_considerations: the main considerations "
    "behind the discretionary assessment (forvaltningsloven § 24, stk. 1)"
)
NEEDS_EFFECTS_MESSAGE = (
    "a decision step must declare its effects: what it decides "
    "(e.g. grants_application, rejects_application)"
)
AUTOMATED_DECISION_MESSAGE = (
    "a decision step can only be autonomous with an automation_legal_basis naming the "
    "national law that permits automated decisions (GDPR Art. 22(2)(b)); "
    "otherwise use 'mode: signoff'"
)
EXEMPT_NEEDS_EXCEPTION_MESSAGE = (
    "'hearing: exempt' needs a hearing_exception, one of "
    f"{_EXCEPTION_CODES} (forvaltningsloven § 19, stk. 2)"
)
EXCEPTION_WITHOUT_EXEMPT_MESSAGE = "a hearing_exception applies only with 'hearing: exempt'"
DECISION_CLAIMS_ART_6_3_MESSAGE = (
    "a decision step cannot claim the AI Act Art. 6(3) exemption: it decides, "
    "it does not only prepare"
)
HIGH_RISK_NEEDS_POINT_MESSAGE = (
    "a high-risk flow must name its AI Act Annex III point, e.g. '5(a)' "
    "(access to public benefits and services)"
)
HIGH_RISK_NEEDS_DPIA_MESSAGE = (
    "a high-risk flow needs dpia: a reference to its data protection impact assessment "
    "(GDPR Art. 35)"
)
HIGH_RISK_NEEDS_FRIA_MESSAGE = (
    "a high-risk flow needs fria: a reference to its fundamental-rights impact assessment "
    "(AI Act Art. 27)"
)
ANNEX_III_NOT_EXEMPT_MESSAGE = (
    "the flow is in Annex III point {point} but says 'risk: minimal', and step '{step}' "
    "does not claim the Art. 6(3) exemption (ai_act_exemption): the flow is high-risk"
)
MISSING_AI_ACT_MESSAGE = (
    "missing required field 'ai_act': classify the flow under the AI Act "
    "(risk: minimal or high) before it goes live"
)


EARNED_NEEDS_AUTONOMOUS_MESSAGE = (
    "earned autonomy is for a step whose mode is autonomous (the mode it earns); "
    "this step's mode is {mode}"
)


@dataclass(frozen=True)
class Violation:
    """A broken rule: ``loc`` is the field path as pydantic would give it."""

    loc: tuple[str | int, ...]
    message: str


def step_violations(name: str, step: StepPolicy) -> list[Violation]:
    """The rules one step must meet on its own."""
    at = ("steps", name)
    found: list[Violation] = []
    if step.earns_autonomy and step.mode != "autonomous":
        found.append(Violation((*at, "autonomy"),
                               EARNED_NEEDS_AUTONOMOUS_MESSAGE.format(mode=step.mode)))
    if step.kind == "preparatory":
        for index, effect in enumerate(step.effects):
            if is_adverse(effect):
                meaning = EFFECTS[effect].en if effect in EFFECTS else "unknown"
                message = PREPARATORY_ADVERSE_MESSAGE.format(effect=effect, meaning=meaning)
                found.append(Violation((*at, "effects", index), message))
        for field in _decision_only_fields(step):
            found.append(Violation((*at, field), DECISION_ONLY_FIELD_MESSAGE.format(field=field)))
        return found

    if step.ai_act_exemption is not None:
        found.append(Violation((*at, "ai_act_exemption"), DECISION_CLAIMS_ART_6_3_MESSAGE))
    if step.hearing == "exempt" and step.hearing_exception is None:
        found.append(Violation((*at, "hearing_exception"), EXEMPT_NEEDS_EXCEPTION_MESSAGE))
    if step.hearing != "exempt" and step.hearing_exception is not None:
        found.append(Violation((*at, "hearing_exception"), EXCEPTION_WITHOUT_EXEMPT_MESSAGE))
    if step.mode == "manual":
        return found  # the robot takes no part; the caseworker's own letter gives the reasons
    if not step.effects:
        found.append(Violation((*at, "effects"), NEEDS_EFFECTS_MESSAGE))
    if not step.legal_basis:
        if step.mode != "autonomous":  # autonomous: the model's own mode rule reports it
            found.append(Violation((*at, "legal_basis"), NEEDS_LEGAL_BASIS_MESSAGE))
    elif step.mode == "autonomous" and not step.automation_legal_basis:
        found.append(Violation((*at, "mode"), AUTOMATED_DECISION_MESSAGE))
    if not step.facts_relied_on:
        found.append(Violation((*at, "facts_relied_on"), NEEDS_FACTS_MESSAGE))
    if step.discretion and not step.main_considerations:
        found.append(Violation((*at, "main_considerations"), NEEDS_CONSIDERATIONS_MESSAGE))
    return found


def _decision_only_fields(step: StepPolicy) -> Iterable[str]:
    values = {
        "automation_legal_basis": step.automation_legal_basis,
        "facts_relied_on": step.facts_relied_on,
        "discretion": step.discretion,
        "main_considerations": step.main_considerations,
        "hearing": step.hearing,
        "hearing_exception": step.hearing_exception,
    }
    return (field for field, value in values.items() if value)


def ai_act_violations(ai_act: AiAct) -> list[Violation]:
    """The rules of the ``ai_act`` block on its own."""
    if ai_act.risk != "high":
        return []
    found: list[Violation] = []
    if not ai_act.annex_iii_point:
        found.append(Violation(("ai_act", "annex_iii_point"), HIGH_RISK_NEEDS_POINT_MESSAGE))
    if not ai_act.dpia:
        found.append(Violation(("ai_act", "dpia"), HIGH_RISK_NEEDS_DPIA_MESSAGE))
    if not ai_act.fria:
        found.append(Violation(("ai_act", "fria"), HIGH_RISK_NEEDS_FRIA_MESSAGE))
    return found


def flow_violations(model: FlowPolicy) -> list[Violation]:
    """Every rule of a whole, validated policy."""
    found: list[Violation] = []
    for name, step in model.steps.items():
        found.extend(step_violations(name, step))
    ai_act = model.ai_act
    if ai_act is None:
        return found
    found.extend(ai_act_violations(ai_act))
    if ai_act.risk == "minimal" and ai_act.annex_iii_point:
        for name, step in model.steps.items():
            if step.mode != "manual" and step.ai_act_exemption is None:
                message = ANNEX_III_NOT_EXEMPT_MESSAGE.format(
                    point=ai_act.annex_iii_point, step=name
                )
                found.append(Violation(("ai_act", "risk"), message))
    return found


def partial_violations(data: Mapping[str, Any]) -> list[Violation]:
    """Rules for the parts of an invalid file that are valid on their own.

    So one run reports the legal problems of the good steps beside the schema errors of the
    bad ones.
    """
    found: list[Violation] = []
    steps = data.get("steps")
    if isinstance(steps, dict):
        for name, raw in steps.items():
            if not isinstance(name, str):
                continue
            try:
                step = StepPolicy.model_validate(raw)
            except ValidationError:
                continue
            found.extend(step_violations(name, step))
    try:
        ai_act = AiAct.model_validate(data.get("ai_act"))
    except ValidationError:
        return found
    return found + ai_act_violations(ai_act)


def readiness_violations(model: FlowPolicy) -> list[Violation]:
    """What a loadable policy still lacks before ``check`` passes it or it can be activated."""
    if model.ai_act is None:
        return [Violation(("ai_act",), MISSING_AI_ACT_MESSAGE)]
    return []
