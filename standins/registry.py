"""Stand-in for the citizen and property registries a caseworker looks things up in by hand
(CPR for persons; BBR, the land register and local plans for properties), served on loopback.

Read-only, from the shared sample (``data/sample.json``), so its citizens are the case system's.
CPR numbers travel in POST bodies, never in URLs. Faults as in ``standins.faults``.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict, Field, model_validator

from standins.auth import bearer_auth
from standins.faults import install_faults
from standins.sample_data import Sample, SampleProperty, birth_date_from_cpr, load_sample

CPR = r"^\d{6}-?\d{4}$"


def _normal_cpr(cpr: str) -> str:
    return cpr if "-" in cpr else f"{cpr[:6]}-{cpr[6:]}"


class PersonLookup(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cpr: str = Field(pattern=CPR)


class PropertySearch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: str | None = Field(default=None, min_length=3)
    owner_cpr: str | None = Field(default=None, pattern=CPR)

    @model_validator(mode="after")
    def _one_criterion(self) -> PropertySearch:
        if (self.address is None) == (self.owner_cpr is None):
            raise ValueError("give exactly one of address, owner_cpr")
        return self


def _property(record: SampleProperty) -> dict[str, Any]:
    return record.model_dump(exclude={"owner_cprs"}) | {"owner_count": len(record.owner_cprs)}


def create_app(token: str = "standin-token", sample: Sample | None = None) -> FastAPI:
    data = sample or load_sample()
    authorised = bearer_auth(token)
    app = FastAPI(title="Registry stand-in", dependencies=[Depends(authorised)])
    app.state.faults = install_faults(app, authorised)

    @app.post("/persons/lookup")
    def person(lookup: PersonLookup) -> dict[str, Any]:
        found = data.person(_normal_cpr(lookup.cpr))
        if found is None:
            raise HTTPException(404, "no person with that CPR number")
        return {
            "cpr": found.cpr, "first_name": found.first_name, "last_name": found.last_name,
            "address": found.address, "postcode": found.postcode, "city": found.city,
            "municipality_code": found.municipality_code,
            "birth_date": birth_date_from_cpr(found.cpr).isoformat(),
            "protected_address": found.protected_address,
        }

    @app.get("/properties/{bfe_number}")
    def property_by_bfe(bfe_number: int) -> dict[str, Any]:
        found = next((p for p in data.properties if p.bfe_number == bfe_number), None)
        if found is None:
            raise HTTPException(404, f"no property with BFE number {bfe_number}")
        return _property(found)

    @app.post("/properties/search")
    def search_properties(search: PropertySearch) -> list[dict[str, Any]]:
        if search.owner_cpr is not None:
            cpr = _normal_cpr(search.owner_cpr)
            return [_property(p) for p in data.properties if cpr in p.owner_cprs]
        wanted = _address_key(search.address or "")
        return [_property(p) for p in data.properties
                if _address_key(p.address).startswith(wanted)]

    return app


def _address_key(address: str) -> str:
    return " ".join(address.lower().replace(",", " ").split())
