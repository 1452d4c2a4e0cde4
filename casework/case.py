"""The case a step works on, and what a step hands back."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from casework.privacy import pseudonymise


class Case(BaseModel):
    """A case as the flow knows it. ``id`` is the real case id and never leaves the process
    unmasked: the ledger, audit log and artifacts only see ``ref``.

    ``attributes`` are the facts policy conditions may test (``case.sensitive``,
    ``case.amount``); ``summary`` is shown to the caseworker in a sign-off task.
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    department: str | None = None
    kle: str | None = Field(default=None, pattern=r"^\d{2}(\.\d{2}){0,2}$")
    attributes: dict[str, Any] = Field(default_factory=dict)
    summary: str | None = None

    @cached_property
    def ref(self) -> str:
        return pseudonymise(self.id)

    def facts(self) -> dict[str, Any]:
        """What conditions may see as ``case.<name>``."""
        return {**self.attributes, "department": self.department, "kle": self.kle}
