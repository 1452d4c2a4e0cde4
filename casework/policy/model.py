"""The shape of a policy file, as strict pydantic models.

Strict and ``extra="forbid"`` on purpose: a typo in a legal safeguard (``signof_when``) must be
an error, never a silently ignored field. Validators stay field-local so that the loader can
point each error at the YAML line it comes from.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from casework.policy.conditions import ConditionError, parse_condition

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
NAME_RULE = "use lower case letters, digits and _, starting with a letter"
ANNEX_III_PATTERN = r"^[1-8](\([a-e]\))?$"

AUTONOMOUS_DECISION_MESSAGE = (
    "a decision step cannot be autonomous without a legal_basis "
    "(forvaltningsloven and GDPR Art. 22 forbid unsupervised automated decisions)"
)

Role = Literal["caseworker", "team_lead", "manager", "automation_admin"]
Effect = Literal[
    "collects_data",
    "suggests",
    "routes_case",
    "journals_document",
    "informs_party",
    "requests_information",
    "grants_application",
    "rejects_application",
    "grants_partially",
    "closes_case",
    "reduces_benefit",
    "stops_benefit",
    "demands_repayment",
    "imposes_obligation",
]
Hearing = Literal["auto", "exempt"]
HearingException = Literal[
    "fvl19_2_1", "fvl19_2_2", "fvl19_2_3", "fvl19_2_4", "fvl19_2_5", "fvl19_2_6"
]
Risk = Literal["minimal", "high"]
Art63Condition = Literal["a", "b", "c", "d"]
Kind = Literal["preparatory", "decision"]
Mode = Literal["autonomous", "signoff", "manual", "shadow"]
OnOverdue = Literal["remind", "reassign", "manual"]

Name = Annotated[str, Field(pattern=NAME_PATTERN)]
Text = Annotated[str, Field(min_length=1)]


def _check_condition(text: str) -> str:
    try:
        parse_condition(text)
    except ConditionError as exc:
        # The message goes in the context so braces in a condition are never read as a template.
        raise PydanticCustomError("condition", "{message}", {"message": str(exc)}) from None
    return text


ConditionText = Annotated[str, AfterValidator(_check_condition)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SignoffBy(_Strict):
    """Who may sign off; an empty ``departments`` list means the case's own department."""

    roles: list[Role] = Field(default_factory=lambda: ["caseworker"], min_length=1)
    departments: list[Text] = Field(default_factory=list)


class AiActExemption(_Strict):
    """A preparatory step's claim that it is not high-risk under AI Act Art. 6(3), and why."""

    condition: Art63Condition
    reason: Text


class EarnedAutonomy(_Strict):
    """A step that must earn its autonomy: it stays in sign-off until caseworkers kept at least
    ``min_agreement`` of its last ``window`` suggestions unchanged, falls back to sign-off when
    agreement drops, and sends a random ``audit_sample`` of its autonomous cases to a person
    to keep measuring."""

    earned: bool = True
    min_agreement: float = Field(gt=0, le=1, allow_inf_nan=False)
    window: int = Field(ge=10, le=100_000)
    audit_sample: float = Field(default=0.05, ge=0, lt=1, allow_inf_nan=False)


class Titles(_Strict):
    """A name people read (in the inbox, letters, reports) in each language the project
    speaks; field names and slugs never reach their pages."""

    da: Text
    nb: Text
    en: Text


class StepPolicy(_Strict):
    """How one step runs. ``legal_basis`` comes before ``mode`` so the mode rule can see it.

    The legal fields (``effects`` to ``ai_act_exemption``) are judged together by
    ``casework.policy.rules`` once each field is valid on its own.
    """

    kind: Kind
    effects: list[Effect] = Field(default_factory=list)
    legal_basis: list[Text] = Field(default_factory=list)
    automation_legal_basis: list[Text] = Field(default_factory=list)
    facts_relied_on: list[Text] = Field(default_factory=list)
    discretion: bool = False
    main_considerations: list[Text] = Field(default_factory=list)
    hearing: Hearing | None = None
    hearing_exception: HearingException | None = None
    hearing_reply_days: int = Field(default=14, gt=0, le=365)
    ai_act_exemption: AiActExemption | None = None
    mode: Mode
    manual_minutes: float = Field(gt=0, allow_inf_nan=False)
    description: str | None = None
    signoff_when: list[ConditionText] = Field(default_factory=list)
    signoff_by: SignoffBy = Field(default_factory=SignoffBy)
    deadline_hours: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    on_overdue: OnOverdue = "remind"
    four_eyes: bool = False
    autonomy: EarnedAutonomy | None = None
    title: Titles | None = None

    @field_validator("mode")
    @classmethod
    def _no_unsupervised_decision(cls, mode: str, info: ValidationInfo) -> str:
        # Only judge when kind and legal_basis themselves are valid; otherwise they are reported.
        if (
            mode == "autonomous"
            and info.data.get("kind") == "decision"
            and "legal_basis" in info.data
            and not info.data["legal_basis"]
        ):
            raise PydanticCustomError("autonomous_decision", AUTONOMOUS_DECISION_MESSAGE)
        return mode


    @property
    def earns_autonomy(self) -> bool:
        return self.autonomy is not None and self.autonomy.earned

    @property
    def effective_hearing(self) -> Hearing | None:
        """``auto`` unless exempted, for decision steps; preparatory steps hear no one."""
        if self.kind != "decision":
            return None
        return self.hearing or "auto"


class AiAct(_Strict):
    """The flow's classification under the AI Act (Regulation (EU) 2024/1689)."""

    risk: Risk
    annex_iii_point: Annotated[str, Field(pattern=ANNEX_III_PATTERN)] | None = None
    dpia: Text | None = None
    fria: Text | None = None
    notes: str | None = None


class FlowPolicy(_Strict):
    """A whole policy file: one flow and the policy of each of its steps."""

    flow: Name
    title: Titles | None = None
    description: str | None = None
    department: Text | None = None
    ai_act: AiAct | None = None
    steps: dict[Name, StepPolicy] = Field(min_length=1)
