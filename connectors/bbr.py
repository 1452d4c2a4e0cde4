"""BBR building lookup at Datafordeleren: the buildings at an address (DAR husnummer id) with
their registered use, areas, year and units, for building screening to check an application
against what is registered (a carport on a plot whose building is registered as something
that contradicts it goes to a caseworker).

GraphQL first (``https://graphql.datafordeler.dk/BBR/v1``; Datafordeleren is phasing REST
out), REST as fallback (``.../BBR/BBRPublic/1/rest``) when GraphQL is down or answers with
errors. Field names are BBR's published ones (``byg021BygningensAnvendelse``,
``byg026Opfoerelsesaar``, ``enh020EnhedensAnvendelse`` ...). The API key travels as the
``apiKey`` query parameter, as Datafordeleren wants it; it never reaches a message.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from connectors.http import (
    ConnectorError,
    HttpConnector,
    MalformedResponseError,
    PermanentConnectorError,
    RetryPolicy,
)

log = logging.getLogger(__name__)

# BBR anvendelseskoder (byg021 / enh020) the screening meets most, in Danish as registered.
USE_TEXTS = {
    "110": "Stuehus til landbrugsejendom", "120": "Fritliggende enfamiliehus",
    "121": "Sammenbygget enfamiliehus", "122": "Fritliggende enfamiliehus i tæt-lav bebyggelse",
    "130": "Række-, kæde- eller dobbelthus", "131": "Række-, kæde- og klyngehus",
    "132": "Dobbelthus", "140": "Etagebolig", "150": "Kollegium",
    "160": "Boligbygning til døgninstitution", "190": "Anden bygning til helårsbeboelse",
    "210": "Erhvervsmæssig produktion vedrørende landbrug m.v.", "310": "Transport- og garageanlæg",
    "320": "Kontor, handel, lager", "510": "Sommerhus", "910": "Garage", "920": "Carport",
    "930": "Udhus", "940": "Drivhus", "950": "Fritliggende overdækning",
    "960": "Fritliggende udestue", "970": "Tiloversbleven landbrugsbygning",
    "990": "Faldefærdig bygning", "999": "Ukendt bygning",
}

BUILDING_FIELDS = ("id_lokalId", "husnummer", "status", "byg007Bygningsnummer",
                   "byg021BygningensAnvendelse", "byg026Opfoerelsesaar",
                   "byg038SamletBygningsareal", "byg041BebyggetAreal", "byg054AntalEtager")
UNIT_FIELDS = ("id_lokalId", "bygning", "status", "enh020EnhedensAnvendelse",
               "enh026EnhedensSamledeAreal")


class Unit(BaseModel):
    """An enhed (dwelling or business unit) in a building."""

    model_config = ConfigDict(frozen=True)

    id: str
    use_code: str | None
    use_text: str | None
    area_m2: int | None


class Building(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    address_id: str | None
    building_number: int | None
    status: str | None
    use_code: str
    use_text: str | None
    year_built: int | None
    total_area_m2: int | None
    built_area_m2: int | None
    floors: int | None
    units: list[Unit] = Field(default_factory=list)


class _BygningNode(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id_lokalId: str
    husnummer: str | None = None
    status: str | None = None
    byg007Bygningsnummer: int | None = None
    byg021BygningensAnvendelse: str
    byg026Opfoerelsesaar: int | None = None
    byg038SamletBygningsareal: int | None = None
    byg041BebyggetAreal: int | None = None
    byg054AntalEtager: int | None = None


class _EnhedNode(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id_lokalId: str
    bygning: str
    status: str | None = None
    enh020EnhedensAnvendelse: str | None = None
    enh026EnhedensSamledeAreal: int | None = None


_bygninger = TypeAdapter(list[_BygningNode])
_enheder = TypeAdapter(list[_EnhedNode])


class _Page(BaseModel):
    model_config = ConfigDict(extra="ignore")

    nodes: list[dict[str, Any]]
    pageInfo: dict[str, Any] = Field(default_factory=dict)


def _to_building(node: _BygningNode, units: list[_EnhedNode]) -> Building:
    code = node.byg021BygningensAnvendelse
    return Building(
        id=node.id_lokalId, address_id=node.husnummer, building_number=node.byg007Bygningsnummer,
        status=node.status, use_code=code, use_text=USE_TEXTS.get(code),
        year_built=node.byg026Opfoerelsesaar, total_area_m2=node.byg038SamletBygningsareal,
        built_area_m2=node.byg041BebyggetAreal, floors=node.byg054AntalEtager,
        units=[Unit(id=u.id_lokalId, use_code=u.enh020EnhedensAnvendelse,
                    use_text=USE_TEXTS.get(u.enh020EnhedensAnvendelse or ""),
                    area_m2=u.enh026EnhedensSamledeAreal)
               for u in units if u.bygning == node.id_lokalId])


def _query(root: str, fields: tuple[str, ...], where: str, variables: str) -> str:
    selection = "\n      ".join(fields)
    return (f"query ({variables}, $vt: DafDateTime!, $after: String) {{\n"
            f"  {root}(first: 100, after: $after, virkningstid: $vt, registreringstid: $vt,"
            f" where: {where}) {{\n    nodes {{\n      {selection}\n    }}\n"
            f"    pageInfo {{ hasNextPage endCursor }}\n  }}\n}}")


BUILDINGS_QUERY = _query("BBR_Bygning", BUILDING_FIELDS, "{ husnummer: { eq: $id } }",
                         "$id: String!")
UNITS_QUERY = _query("BBR_Enhed", UNIT_FIELDS, "{ bygning: { in: $ids } }", "$ids: [String!]")


class _GraphQl(HttpConnector):
    system = "BBR (GraphQL)"


class _Rest(HttpConnector):
    system = "BBR (REST)"


class BbrClient:
    """``BbrClient(graphql_url=..., rest_url=..., api_key=...)``; either URL may be ``None``."""

    def __init__(self, *, graphql_url: str | None, rest_url: str | None, api_key: str,
                 timeout: float = 10.0, retry: RetryPolicy | None = None) -> None:
        if not graphql_url and not rest_url:
            raise ValueError("BBR needs a GraphQL URL, a REST URL or both")
        self._api_key = api_key
        self._graphql = _GraphQl(graphql_url, timeout=timeout, retry=retry) \
            if graphql_url else None
        self._rest = _Rest(rest_url, timeout=timeout, retry=retry) if rest_url else None
        self.last_source: str | None = None

    def close(self) -> None:
        for part in (self._graphql, self._rest):
            if part is not None:
                part.close()

    def __enter__(self) -> BbrClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def buildings_at_address(self, address_id: str) -> list[Building]:
        """Buildings at a DAR husnummer id, each with its units; GraphQL, else REST."""
        if self._graphql is not None:
            try:
                found = self._graphql_buildings(address_id)
                self.last_source = "graphql"
                return found
            except ConnectorError as problem:
                if self._rest is None or (isinstance(problem, PermanentConnectorError)
                                          and problem.status in (401, 403)):
                    raise
                log.warning("BBR: GraphQL failed (%s); falling back to REST", problem)
        assert self._rest is not None
        found = self._rest_buildings(address_id)
        self.last_source = "rest"
        return found

    # -- GraphQL -----------------------------------------------------------------------------

    def _graphql_all(self, query: str, variables: dict[str, Any]) -> list[dict[str, Any]]:
        assert self._graphql is not None
        nodes: list[dict[str, Any]] = []
        after: str | None = None
        root = "BBR_Bygning" if "BBR_Bygning" in query else "BBR_Enhed"
        for _ in range(1000):  # a bound, not a expectation: 100 per page
            body = {"query": query, "variables": {
                **variables, "vt": datetime.now(UTC).isoformat(), "after": after}}
            response = self._graphql.request("POST", "", json=body,
                                             params={"apiKey": self._api_key})
            payload = self._graphql.parse(response, dict[str, Any])
            if payload.get("errors"):
                first = payload["errors"][0]
                message = first.get("message", "error") if isinstance(first, dict) else first
                raise PermanentConnectorError(self._graphql.system, "POST", root,
                                              f"GraphQL error: {message}",
                                              status=response.status_code)
            try:
                page = _Page.model_validate((payload.get("data") or {})[root])
            except (KeyError, TypeError, ValueError):
                raise MalformedResponseError(self._graphql.system, "POST", root,
                                             f"malformed answer: no data.{root}",
                                             field=f"data.{root}") from None
            nodes += page.nodes
            if not page.pageInfo.get("hasNextPage"):
                return nodes
            after = page.pageInfo.get("endCursor")
        raise MalformedResponseError(self._graphql.system, "POST", root,
                                     "more than 1000 pages: the server keeps saying hasNextPage")

    def _graphql_buildings(self, address_id: str) -> list[Building]:
        buildings = self._validated(_bygninger, self._graphql_all(
            BUILDINGS_QUERY, {"id": address_id}), "BBR_Bygning")
        ids = [b.id_lokalId for b in buildings]
        units = self._validated(_enheder, self._graphql_all(UNITS_QUERY, {"ids": ids}),
                                "BBR_Enhed") if ids else []
        return [_to_building(b, units) for b in buildings]

    # -- REST --------------------------------------------------------------------------------

    def _rest_buildings(self, address_id: str) -> list[Building]:
        assert self._rest is not None
        common = {"apiKey": self._api_key, "format": "json"}
        buildings = self._rest.call("GET", "/bygning", _bygninger,
                                    params={**common, "husnummer": address_id})
        units: list[_EnhedNode] = []
        for building in buildings:
            units += self._rest.call("GET", "/enhed", _enheder,
                                     params={**common, "bygning": building.id_lokalId})
        return [_to_building(b, units) for b in buildings]

    def _validated(self, adapter: TypeAdapter[Any], nodes: list[dict[str, Any]],
                   root: str) -> Any:
        try:
            return adapter.validate_python(nodes)
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_input=False)
            field = ".".join(str(p) for p in errors[0]["loc"])
            raise MalformedResponseError("BBR (GraphQL)", "POST", root,
                                         f"malformed answer: field '{field}': "
                                         f"{errors[0]['msg']}", field=field) from None
