"""DAR address lookup at Datafordeleren: an address as a person writes it ("Ågade 12" or
"Ågade 12, 8600 Silkeborg") to the DAR husnummer id (adgangsadresse) that BBR keys its
buildings by. Building cases carry the property's address as text, never a DAR id.

GraphQL (``https://graphql.datafordeler.dk/DAR/v1``, the service that replaces DAWA): the
``DAR_Husnummer`` object filtered on ``adgangsadressebetegnelse`` with ``startsWith``, the
filter Datafordeleren offers on that field. The caller decides what several hits mean (the
same street and number in more than one town: ambiguous). The API key travels as the
``apiKey`` query parameter and never reaches a message; the address text never reaches a log.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from connectors.http import (
    HttpConnector,
    MalformedResponseError,
    PermanentConnectorError,
    RetryPolicy,
)

HUSNUMMER_FIELDS = ("id_lokalId", "adgangsadressebetegnelse", "husnummertekst", "status")
HUSNUMMER_QUERY = (
    "query ($text: String!, $vt: DafDateTime!, $after: String) {\n"
    "  DAR_Husnummer(first: 100, after: $after, virkningstid: $vt, registreringstid: $vt,"
    " where: { adgangsadressebetegnelse: { startsWith: $text } }) {\n"
    "    nodes {\n      " + "\n      ".join(HUSNUMMER_FIELDS) + "\n    }\n"
    "    pageInfo { hasNextPage endCursor }\n  }\n}")
# DAR livscyklus: 2 foreløbig, 3 gældende; 4 nedlagt and 5 henlagt are no address any more.
CURRENT_STATUSES = frozenset({"2", "3"})
_POSTCODE = re.compile(r",\s*\d{4}\b")


class AccessAddress(BaseModel):
    """A DAR husnummer (adgangsadresse): the id BBR's ``husnummer`` points at."""

    model_config = ConfigDict(frozen=True)

    id: str
    text: str = Field(description="adgangsadressebetegnelse, e.g. 'Ågade 12, 8600 Silkeborg'")
    house_number: str | None
    status: str | None


class _HusnummerNode(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id_lokalId: str
    adgangsadressebetegnelse: str
    husnummertekst: str | None = None
    status: str | None = None


_nodes = TypeAdapter(list[_HusnummerNode])


def search_prefix(address: str) -> str:
    """The ``startsWith`` text for an address: "Ågade 12" must not find "Ågade 120", so an
    address without a postcode ends in the comma that follows the number in DAR's text."""
    cleaned = " ".join(address.replace(" ,", ",").split()).strip(" ,")
    return cleaned if _POSTCODE.search(cleaned) else cleaned + ","


_TOWN_POSTCODE = re.compile(r",\s*(\d{4})\b")


def in_postcodes(found: list[AccessAddress], postcodes: frozenset[str]) -> list[AccessAddress]:
    """Several towns have the street and number: keep those in the municipality's postcodes
    (``CASEWORK_DAR_POSTCODES``). No postcodes given, or none of them among the hits: the
    hits unchanged (the caller then says the address is ambiguous or unknown)."""
    if not postcodes or len(found) < 2:
        return found
    kept = [a for a in found
            if (m := _TOWN_POSTCODE.search(a.text)) is not None and m.group(1) in postcodes]
    return kept or found


def _without(message: object, address: str) -> str:
    """The server's error text without the address searched for (a server may echo its
    variables; the address is personal data tied to a case and must not reach a log)."""
    text = str(message)
    prefix = search_prefix(address)
    for shown in sorted({prefix, prefix.rstrip(","), address, address.strip()}, key=len,
                        reverse=True):
        if shown.strip(" ,"):
            text = text.replace(shown, "…")
    return text


class DarClient(HttpConnector):
    """``DarClient(graphql_url, api_key=...)``: ``find(address)`` → the current husnumre."""

    system = "DAR (GraphQL)"

    def __init__(self, graphql_url: str, *, api_key: str, timeout: float = 10.0,
                 retry: RetryPolicy | None = None) -> None:
        super().__init__(graphql_url, timeout=timeout, retry=retry)
        self._api_key = api_key

    def find(self, address: str) -> list[AccessAddress]:
        """Current access addresses whose text starts like ``address`` (see ``search_prefix``);
        empty when there is none."""
        nodes: list[dict[str, Any]] = []
        after: str | None = None
        for _ in range(100):  # a bound: 100 per page, an address text matches a handful
            body = {"query": HUSNUMMER_QUERY, "variables": {
                "text": search_prefix(address), "vt": datetime.now(UTC).isoformat(),
                "after": after}}
            response = self.request("POST", "", json=body, params={"apiKey": self._api_key})
            payload = self.parse(response, dict[str, Any])
            if payload.get("errors"):
                first = payload["errors"][0]
                message = first.get("message", "error") if isinstance(first, dict) else first
                raise PermanentConnectorError(self.system, "POST", "DAR_Husnummer",
                                              f"GraphQL error: {_without(message, address)}",
                                              status=response.status_code)
            try:
                page = (payload.get("data") or {})["DAR_Husnummer"]
                nodes += list(page["nodes"])
                info = page.get("pageInfo") or {}
            except (KeyError, TypeError, AttributeError):
                raise MalformedResponseError(self.system, "POST", "DAR_Husnummer",
                                             "malformed answer: no data.DAR_Husnummer.nodes",
                                             field="data.DAR_Husnummer.nodes") from None
            if not info.get("hasNextPage"):
                return [AccessAddress(id=n.id_lokalId, text=n.adgangsadressebetegnelse,
                                      house_number=n.husnummertekst, status=n.status)
                        for n in self._validated(nodes)
                        if n.status is None or n.status in CURRENT_STATUSES]
            after = info.get("endCursor")
        raise MalformedResponseError(self.system, "POST", "DAR_Husnummer",
                                     "more than 100 pages: the server keeps saying hasNextPage")

    def _validated(self, nodes: list[dict[str, Any]]) -> list[_HusnummerNode]:
        try:
            return _nodes.validate_python(nodes)
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_input=False)
            field = ".".join(str(p) for p in errors[0]["loc"])
            raise MalformedResponseError(self.system, "POST", "DAR_Husnummer",
                                         f"malformed answer: field '{field}': "
                                         f"{errors[0]['msg']}", field=field) from None
