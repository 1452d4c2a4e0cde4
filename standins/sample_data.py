"""The fictitious citizens, properties and cases both stand-ins share (``data/sample.json``).

One file keeps the registry and the case system consistent: the citizen of a sample case is a
person the registry knows, and a building case's address is a property it knows.
"""

from __future__ import annotations

import json
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SAMPLE_FILE = Path(__file__).with_name("data") / "sample.json"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SamplePerson(_Strict):
    cpr: str = Field(pattern=r"^\d{6}-\d{4}$")
    first_name: str
    last_name: str
    address: str
    postcode: str
    city: str
    municipality_code: str
    protected_address: bool = False

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class SampleProperty(_Strict):
    bfe_number: int
    address: str
    land_register_number: str
    plot_area_m2: int
    built_area_m2: int
    zoning_plan: str | None
    building_year: int
    use_code: str
    use_text: str
    owner_cprs: list[str]


class SampleDocument(_Strict):
    title: str
    document_type: str
    filename: str
    content_type: str
    text: str


class SampleNote(_Strict):
    text: str
    author: str


class SampleCase(_Strict):
    id: str
    title: str
    case_type: str
    status: Literal["open", "closed"] = "open"
    citizen_cpr: str
    department: str | None
    team: str | None
    kle: str | None
    documents: list[SampleDocument]
    notes: list[SampleNote]


class Sample(_Strict):
    about: str
    persons: list[SamplePerson]
    properties: list[SampleProperty]
    cases: list[SampleCase]

    def person(self, cpr: str) -> SamplePerson | None:
        return next((p for p in self.persons if p.cpr == cpr), None)


@lru_cache(maxsize=4)
def load_sample(path: Path = SAMPLE_FILE) -> Sample:
    return Sample.model_validate(json.loads(path.read_text(encoding="utf-8")))


def birth_date_from_cpr(cpr: str) -> date:
    """The CPR scheme's century rule: the 7th digit and the year decide 18xx, 19xx or 20xx."""
    digits = cpr.replace("-", "")
    day, month, year, seventh = int(digits[0:2]), int(digits[2:4]), int(digits[4:6]), \
        int(digits[6])
    if seventh <= 3:
        century = 1900
    elif seventh in (4, 9):
        century = 2000 if year <= 36 else 1900
    else:
        century = 2000 if year <= 57 else 1800
    return date(century + year, month, day)
