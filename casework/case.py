"""The case a step works on, and what a step hands back."""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from casework.privacy import pseudonymise

FactValue = str | int | float | bool | None


def labels(da: str, nb: str, en: str) -> dict[str, Any]:
    """What a result field is called on the caseworker's page, in her language. Use it on the
    step's result model: ``address: str = Field(json_schema_extra=labels(da="Ny adresse",
    nb="Ny adresse", en="New address"))``; the inbox reads it from the model's JSON schema."""
    return {"labels": {"da": da, "nb": nb, "en": en}}


class EvidenceDocument(BaseModel):
    """A document the robot read, as the caseworker should see it (CPR numbers masked)."""

    model_config = ConfigDict(frozen=True)

    title: str = Field(max_length=300)
    text: str = Field(default="", max_length=20_000)
    sender: str | None = Field(default=None, max_length=300)
    received: datetime | None = None
    attachments: list[str] = Field(default_factory=list, description="File names.")


class Evidence(BaseModel):
    """What the robot worked from, shown beside its suggestion on the sign-off task: the case
    number as the case system shows it (never a pseudonym), the documents, and the registry
    facts it used. ``facts`` keys are short names the inbox translates (``fact_<key>``)."""

    model_config = ConfigDict(frozen=True)

    case_number: str | None = Field(default=None, max_length=100)
    documents: list[EvidenceDocument] = Field(default_factory=list, max_length=50)
    facts: dict[str, FactValue] = Field(default_factory=dict)


class Case(BaseModel):
    """A case as the flow knows it. ``id`` is the real case id and never leaves the process
    unmasked: the ledger, audit log and artifacts only see ``ref``.

    ``attributes`` are the facts policy conditions may test (``case.sensitive``,
    ``case.amount``); ``summary`` is shown to the caseworker in a sign-off task, and so is
    ``evidence`` (copied into the task; it never reaches the ledger or the audit log).
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    department: str | None = None
    kle: str | None = Field(default=None, pattern=r"^\d{2}(\.\d{2}){0,2}$")
    attributes: dict[str, Any] = Field(default_factory=dict)
    summary: str | None = None
    evidence: Evidence | None = None

    @cached_property
    def ref(self) -> str:
        return pseudonymise(self.id)

    def facts(self) -> dict[str, Any]:
        """What conditions may see as ``case.<name>``."""
        return {**self.attributes, "department": self.department, "kle": self.kle}
