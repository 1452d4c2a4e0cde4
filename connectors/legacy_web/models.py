"""What the robot reads from and writes to the legacy case system, validated at the boundary.

Names and CPR numbers stay out of ``repr`` (and so out of logs and tracebacks); use
``cpr_masked`` where a CPR must be shown at all.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from casework.privacy import CPR_MASK


class StepType(StrEnum):
    """The step types the system's form offers (its own labels)."""

    JOURNAL_NOTE = "Journalnotat"
    REQUEST_INFORMATION = "Anmodning om oplysninger"
    HEARING = "Partshøring"
    DECISION = "Afgørelse"
    FORWARDED = "Videresendt"


class _Citizen(BaseModel):
    model_config = ConfigDict(frozen=True)

    citizen_name: str = Field(repr=False)
    cpr: str = Field(repr=False, pattern=r"^\d{6}-\d{4}$")

    @property
    def cpr_masked(self) -> str:
        return CPR_MASK


class CaseSummary(_Citizen):
    """One row of the search result."""

    case_number: str
    title: str
    status: str


class CaseStep(BaseModel):
    """A step registered on a case, as the case page lists it."""

    model_config = ConfigDict(frozen=True)

    step_date: date
    step_type: str
    note: str = Field(repr=False)
    registered_by: str
    receipt_number: str


class LegacyCase(_Citizen):
    """The case page: its fields and the steps registered so far."""

    case_number: str
    title: str
    status: str
    responsible_unit: str
    journal_number: str
    created: date
    changed: date
    deadline: date | None = None
    steps: list[CaseStep] = Field(default_factory=list)


class CaseStepForm(BaseModel):
    """A case step to register (the form "Registrér sagsskridt")."""

    model_config = ConfigDict(frozen=True)

    step_type: StepType
    step_date: date
    note: str = Field(min_length=1, max_length=2000, repr=False)

    @field_validator("note")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    def matches(self, step: CaseStep) -> bool:
        """Whether a listed step is this one (same type, date and text)."""
        return (step.step_type == self.step_type.value and step.step_date == self.step_date
                and " ".join(step.note.split()) == " ".join(self.note.split()))


class StepReceipt(BaseModel):
    """Proof that the system registered the step."""

    model_config = ConfigDict(frozen=True)

    case_number: str
    receipt_number: str = Field(min_length=1)
    step_type: StepType
    step_date: date
    recovered: bool = Field(
        default=False,
        description="True when the confirmation page was lost (dropped connection, timeout) and "
        "the step was found on the case page instead of being submitted again.",
    )
