"""When must the party be heard before a decision (partshøring, forvaltningsloven § 19)?

A party who cannot be assumed to know that the authority holds certain facts must be told and
given time to reply before a decision, when those facts are to their disadvantage and of
essential importance. Facts the party gave us themselves are known to them; facts a flow
gathered from registries or other cases are not. Norwegian law calls the same safeguard
forhåndsvarsel.

This module answers the question and defines the step the runtime inserts to carry the
hearing out (``party_hearing``: a draft letter for sign-off); sending the letter and waiting
for the reply or the deadline is ``casework.rights.hearing``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from casework.policy.catalogue import HEARING_EXCEPTIONS
from casework.policy.model import StepPolicy

PARTY_SOURCE = "party"

#: The step the runtime inserts before a decision that needs a hearing. Reserved: no flow may
#: declare a step of this name and no policy file may give it a policy.
PARTY_HEARING_STEP = "party_hearing"
#: Manual baseline of the inserted step: a caseworker drafting a hearing letter by hand (list
#: the facts, their sources, the deadline) takes about 15 minutes; the ledger's savings use it.
HEARING_LETTER_MINUTES = 15.0

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


F = TypeVar("F", bound=FactLike)


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
    triggering = facts_to_put(facts_gathered)
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


def facts_to_put(facts_gathered: Iterable[F]) -> list[F]:
    """The facts a hearing must put to the party: adverse, material, not from the party."""
    return [
        fact for fact in facts_gathered
        if fact.adverse
        and getattr(fact, "material", True) is not False
        and fact.source.strip().lower() != PARTY_SOURCE
    ]


def _label(fact: FactLike) -> str:
    name = getattr(fact, "name", None)
    return f"{name} ({fact.source})" if name else fact.source


def hearing_step_policy(decision: StepPolicy | None = None) -> StepPolicy:
    """The policy of the inserted ``party_hearing`` step, derived from the decision it serves.

    Always sign-off (a letter to a citizen never leaves unseen); signed off by the people who
    may sign off the decision; preparatory, because asking for the party's view decides
    nothing. Without ``decision`` (explaining a past run): the defaults.
    """
    signoff = {} if decision is None else {"signoff_by": decision.signoff_by,
                                           "deadline_hours": decision.deadline_hours}
    return StepPolicy(
        kind="preparatory", effects=["requests_information"], mode="signoff",
        manual_minutes=HEARING_LETTER_MINUTES,
        description="letter putting adverse facts from other sources to the party before the "
                    "decision (party hearing)",
        legal_basis=["forvaltningsloven § 19"],
        on_overdue="remind", **signoff,
    )
