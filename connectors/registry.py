"""Client for the citizen and property registries: the facts a caseworker looks up by hand
today (who the citizen is and where they live; the property's land register number, areas,
local plan, building year and use).

A person or property the registry does not know raises ``NotFoundError``; ``find_person``
returns ``None`` instead. CPR numbers travel in POST bodies, never in URLs.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from connectors.http import HttpConnector, NotFoundError, RetryPolicy


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Person(_Answer):
    """A CPR register entry. ``protected_address`` is navne- og adressebeskyttelse: the address
    must not be shown to anyone outside the authority, e.g. in letters to other parties."""

    cpr: str = Field(repr=False)
    first_name: str = Field(repr=False)
    last_name: str = Field(repr=False)
    address: str = Field(repr=False)
    postcode: str
    city: str
    municipality_code: str
    birth_date: date = Field(repr=False)
    protected_address: bool

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class PropertyRecord(_Answer):
    """One property (BFE number) with its land register and building facts."""

    bfe_number: int
    address: str
    land_register_number: str  # matrikelnummer and ejerlav
    plot_area_m2: int
    built_area_m2: int
    zoning_plan: str | None  # lokalplan, if any
    building_year: int
    use_code: str  # BBR anvendelseskode, e.g. "120" = detached single-family house
    use_text: str
    owner_count: int


_properties = TypeAdapter(list[PropertyRecord])


class RegistryClient(HttpConnector):
    """``with RegistryClient(url, token) as registry: registry.person("120463-5017")``."""

    system = "registry"

    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0,
                 retry: RetryPolicy | None = None) -> None:
        super().__init__(base_url, token=token, timeout=timeout, retry=retry)

    def person(self, cpr: str) -> Person:
        return self.call("POST", "/persons/lookup", Person, json={"cpr": cpr})

    def find_person(self, cpr: str) -> Person | None:
        try:
            return self.person(cpr)
        except NotFoundError:
            return None

    def property(self, bfe_number: int) -> PropertyRecord:
        return self.call("GET", f"/properties/{bfe_number}", PropertyRecord)

    def properties_at(self, address: str) -> list[PropertyRecord]:
        """Properties whose address starts with ``address`` (case and commas ignored)."""
        return self.call("POST", "/properties/search", _properties, json={"address": address})

    def properties_owned_by(self, cpr: str) -> list[PropertyRecord]:
        return self.call("POST", "/properties/search", _properties, json={"owner_cpr": cpr})
