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

AUTONOMOUS_DECISION_MESSAGE = (
    "a decision step cannot be autonomous without a legal_basis "
    "(forvaltningsloven and GDPR Art. 22 forbid unsupervised automated decisions)"
)

Role = Literal["caseworker", "team_lead", "manager", "automation_admin"]
Kind = Literal["preparatory", "decision"]
Mode = Literal["autonomous", "signoff", "manual"]
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


class StepPolicy(_Strict):
    """How one step runs. ``legal_basis`` comes before ``mode`` so the mode rule can see it."""

    kind: Kind
    legal_basis: list[Text] = Field(default_factory=list)
    mode: Mode
    manual_minutes: float = Field(gt=0, allow_inf_nan=False)
    description: str | None = None
    signoff_when: list[ConditionText] = Field(default_factory=list)
    signoff_by: SignoffBy = Field(default_factory=SignoffBy)
    deadline_hours: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    on_overdue: OnOverdue = "remind"
    four_eyes: bool = False

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


class FlowPolicy(_Strict):
    """A whole policy file: one flow and the policy of each of its steps."""

    flow: Name
    description: str | None = None
    department: Text | None = None
    steps: dict[Name, StepPolicy] = Field(min_length=1)
