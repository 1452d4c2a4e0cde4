"""When must the party be heard before a decision (partshøring, forvaltningsloven § 19)?

A party who cannot be assumed to know that the authority holds certain facts must be told and
given time to reply before a decision, when those facts are to their disadvantage and of
essential importance. Facts the party gave us themselves are known to them; facts a flow
gathered from registries or other cases are not. Norwegian law calls the same safeguard
forhåndsvarsel.

This module only answers the question. Pausing a flow run for the hearing (a draft letter for
sign-off, then waiting for the reply or the deadline) belongs to the step runtime.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from casework.policy.catalogue import HEARING_EXCEPTIONS
from casework.policy.model import StepPolicy

PARTY_SOURCE = "party"

NOT_A_DECISION_REASON = "a preparatory step decides nothing, so no party hearing"
EXEMPT_REASON = "hearing exempted by the policy: {code} ({meaning})"
NO_ADVERSE_FACTS_REASON = (
    "no adverse, material facts from sources other than the party: no hearing needed"
)
HEARING_REASON = "adverse, material facts from other sources must be put to the party: {facts}"


class FactLike(Protocol):
    """What ``hearing_required`` reads from a fact; ``material`` defaults to true."""

    @property
    def source(self) -> str: ...

    @property
    def adverse(self) -> bool: ...


class GatheredFact(BaseModel):
    """A fact a flow relies on, where it came from, and whether it counts against the party.

    ``source`` is ``party`` for what the party told us; anything else (``registry:cpr``,
    ``case:other``) is a source the party may not know we used.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    source: str = Field(min_length=1)
    adverse: bool = False
    material: bool = True


class HearingDecision(BaseModel):
    """Whether a hearing must come first, why, and the reply deadline to give the party."""

    model_config = ConfigDict(frozen=True)

    required: bool
    reason: str
    facts: list[str] = Field(default_factory=list)
    reply_days: int | None = None
    exception: str | None = None
    outcome: Literal["hearing", "exempt", "not_needed", "not_a_decision"]


def hearing_required(step: StepPolicy, facts_gathered: Iterable[FactLike]) -> HearingDecision:
    """Decide whether ``step`` must wait for a party hearing, given the facts gathered so far.

    Unknown materiality counts as material: doubt leads to a hearing, never to skipping one.
    """
    if step.kind != "decision":
        return HearingDecision(required=False, reason=NOT_A_DECISION_REASON,
                               outcome="not_a_decision")
    if step.effective_hearing == "exempt" and step.hearing_exception is not None:
        code = step.hearing_exception
        reason = EXEMPT_REASON.format(code=code, meaning=HEARING_EXCEPTIONS[code].en)
        return HearingDecision(required=False, reason=reason, exception=code, outcome="exempt")
    # An 'exempt' step without a code is refused by the loader; here it falls through to auto.
    triggering = [
        fact for fact in facts_gathered
        if fact.adverse
        and getattr(fact, "material", True) is not False
        and fact.source.strip().lower() != PARTY_SOURCE
    ]
    if not triggering:
        return HearingDecision(required=False, reason=NO_ADVERSE_FACTS_REASON,
                               outcome="not_needed")
    labels = [_label(fact) for fact in triggering]
    return HearingDecision(
        required=True,
        reason=HEARING_REASON.format(facts=", ".join(labels)),
        facts=labels,
        reply_days=step.hearing_reply_days,
        outcome="hearing",
    )


def _label(fact: FactLike) -> str:
    name = getattr(fact, "name", None)
    return f"{name} ({fact.source})" if name else fact.source
