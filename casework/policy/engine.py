"""Decide, for one step of one case, whether it runs on its own, waits for sign-off, or is manual.

Runs for every step, so it only reads the already-parsed policy. It fails safe: a condition
that cannot be evaluated sends the case to a human rather than letting it through.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from casework.policy.catalogue import is_adverse
from casework.policy.conditions import parse_condition
from casework.policy.loader import Policy
from casework.policy.model import StepPolicy

SHADOW_REASON = ("policy mode is shadow: a person does the step; the robot's answer is only "
                 "compared with theirs")
NO_LEGAL_BASIS_REASON = "decision step without a legal_basis needs sign-off"
NO_AUTOMATION_BASIS_REASON = (
    "decision step without an automation_legal_basis needs sign-off (GDPR Art. 22)"
)
ADVERSE_PREPARATORY_REASON = (
    "step declared preparatory has an adverse effect, so it is a decision and needs sign-off"
)


class AgreementStats(BaseModel):
    """Measured agreement of one step: of its last ``decisions`` sign-offs, how many caseworkers
    approved unchanged (``kept``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    decisions: int = Field(default=0, ge=0)
    kept: int = Field(default=0, ge=0)

    @property
    def rate(self) -> float:
        return self.kept / self.decisions if self.decisions else 0.0


class Route(BaseModel):
    """The routing decision and, when not autonomous, every reason why (shown to the signer).

    ``earned`` is set for a step with earned autonomy: whether it has earned it right now."""

    model_config = ConfigDict(frozen=True)

    mode: Literal["autonomous", "signoff", "manual", "shadow"]
    reasons: list[str] = []
    earned: bool | None = None


def earned_now(step_policy: StepPolicy, agreement: AgreementStats | None) -> bool:
    """Has the step earned autonomy with these numbers? (A full window at the threshold.)"""
    autonomy = step_policy.autonomy
    if autonomy is None or not autonomy.earned:
        return True
    return (agreement is not None and agreement.decisions >= autonomy.window
            and agreement.rate >= autonomy.min_agreement)


def route(
    policy: Policy,
    step: str,
    facts: Mapping[str, Any],
    *,
    force_signoff: str | None = None,
    agreement: AgreementStats | None = None,
    audit_draw: float | None = None,
) -> Route:
    """Route ``step`` given ``facts`` = {"case": {...}, "result": {...}, "confidence": ...}.

    ``force_signoff`` (e.g. an administrator's stop switch) is the reason text; it sends an
    otherwise autonomous step to sign-off. For a step with earned autonomy, ``agreement`` is
    its measured agreement (none: not earned) and ``audit_draw`` a uniform random number in
    [0, 1) that picks the audit sample. Raises ``KeyError`` for a step the policy lacks.
    """
    step_policy = policy.step(step)
    if step_policy.mode == "manual":
        return Route(mode="manual", reasons=["policy mode is manual"])
    if step_policy.mode == "shadow":
        return Route(mode="shadow", reasons=[SHADOW_REASON])
    reasons: list[str] = []
    if step_policy.mode == "signoff":
        reasons.append("policy mode is signoff")
    elif step_policy.kind == "decision":  # the loader refuses these; defence in depth
        if not step_policy.legal_basis:
            reasons.append(NO_LEGAL_BASIS_REASON)
        elif not step_policy.automation_legal_basis:
            reasons.append(NO_AUTOMATION_BASIS_REASON)
    elif step_policy.effects and any(is_adverse(effect) for effect in step_policy.effects):
        reasons.append(ADVERSE_PREPARATORY_REASON)
    if force_signoff is not None:
        reasons.append(force_signoff or "sign-off forced")
    if step_policy.mode == "autonomous":
        conditions = policy.conditions.get(step)
        if conditions is None:  # a hand-built Policy; never skip its conditions
            conditions = [parse_condition(text) for text in step_policy.signoff_when]
        for condition in conditions:
            result = condition.evaluate(facts)
            if result is True:
                reasons.append(f"signoff_when: {condition.text}")
            elif result is None:
                reasons.append(f"could not evaluate: {condition.text}")
    earned: bool | None = None
    if step_policy.earns_autonomy and step_policy.mode == "autonomous":
        autonomy = step_policy.autonomy
        assert autonomy is not None
        earned = earned_now(step_policy, agreement)
        stats = agreement or AgreementStats()
        if not earned:
            reasons.append(
                f"autonomy not earned: {stats.kept} of the last {stats.decisions} suggestions "
                f"kept ({stats.rate:.1%}); needs {autonomy.min_agreement:.0%} over "
                f"{autonomy.window} decisions")
        elif not reasons and (audit_draw is None or audit_draw < autonomy.audit_sample):
            reasons.append(f"random audit sample ({autonomy.audit_sample:.0%} of cases the "
                           "step decides on its own go to a person)")
    # reasons passed explicitly: pydantic's default-list copy would double the cost of this call.
    if reasons:
        return Route(mode="signoff", reasons=reasons, earned=earned)
    return Route(mode="autonomous", reasons=[], earned=earned)
