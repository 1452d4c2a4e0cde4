"""A loopback fake of Datafordeleren's BBR services for tests and the demo: the GraphQL
service (``POST /BBR/v1``) and the older REST service (``GET /BBR/BBRPublic/1/rest/...``),
and DAR's GraphQL address service (``POST /DAR/v1``, ``DAR_Husnummer`` filtered with
``startsWith`` on ``adgangsadressebetegnelse``) that turns an address text into the husnummer
id BBR keys buildings by.

Records come from ``data/bbr.json`` (its ``addresses`` are the DAR husnumre); the fields a
GraphQL query may select are those of ``data/bbr_schema.graphql`` and ``data/dar_schema.graphql``
(excerpts of the published schemas), so a query for an unknown
field gets a GraphQL error as from the real service. Not a GraphQL engine: it understands the
query shapes the connector sends (one root field, a ``nodes { ... }`` selection, a filter on
``husnummer`` or ``bygning`` from the variables, cursor paging).
Both services want ``apiKey``; faults on the wire via ``POST /_faults``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from standins.faults import install_faults

DATA = Path(__file__).with_name("data")
API_KEY = "bbr-api-key"


def published_fields() -> dict[str, set[str]]:
    """Field names per type from the schema excerpts (BBR and DAR)."""
    text = "\n".join((DATA / name).read_text(encoding="utf-8")
                     for name in ("bbr_schema.graphql", "dar_schema.graphql"))
    types: dict[str, set[str]] = {}
    for name, body in re.findall(r"type (\w+) \{([^}]*)\}", text):
        types[name] = set(re.findall(r"^\s*(\w+):", body, flags=re.MULTILINE))
    return types


def records() -> dict[str, Any]:
    return json.loads((DATA / "bbr.json").read_text(encoding="utf-8"))


def husnumre(data: dict[str, Any]) -> list[dict[str, Any]]:
    """DAR husnummer records for the sample's addresses (status 3: gældende)."""
    rows = []
    for text, lokal_id in data["addresses"].items():
        number = text.split(",", 1)[0].rsplit(" ", 1)[-1]
        rows.append({"id_lokalId": lokal_id, "adgangsadressebetegnelse": text,
                     "husnummertekst": number, "status": "3"})
    return rows


def _error(message: str) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message}], "data": None})


def create_app(*, page_size: int = 100) -> FastAPI:
    data = records()
    fields = published_fields()
    app = FastAPI(title="Datafordeleren BBR fake")
    install_faults(app, lambda: None)
    addresses = husnumre(data)

    def key(request: Request) -> None:
        if request.query_params.get("apiKey") != API_KEY:
            raise HTTPException(401, "Unauthorized: missing or wrong apiKey")

    async def answer(request: Request, root: str) -> JSONResponse:
        """One GraphQL service of Datafordeleren: only its own root fields (``root``)."""
        key(request)
        body = await request.json()
        query, variables = str(body.get("query", "")), body.get("variables") or {}
        if not re.search(root, query):
            return _error("The query has no known root field with a nodes selection.")
        return _graphql_answer(query, variables)

    @app.post("/BBR/v1")
    @app.post("/BBR/v1/")
    async def graphql(request: Request) -> JSONResponse:
        return await answer(request, r"\bBBR_\w+\s*\(")

    @app.post("/DAR/v1")
    @app.post("/DAR/v1/")
    async def dar_graphql(request: Request) -> JSONResponse:
        return await answer(request, r"\bDAR_Husnummer\s*\(")

    def _graphql_answer(query: str, variables: dict[str, Any]) -> JSONResponse:
        root = re.search(r"\b((?:BBR|DAR)_\w+)\s*\(", query)
        selection = re.search(r"nodes\s*\{([^}]*)\}", query)
        if root is None or selection is None or root.group(1) not in fields:
            return _error("The query has no known root field with a nodes selection.")
        kind = root.group(1)
        for name in selection.group(1).split():
            if name not in fields[kind]:
                return _error(f"The field `{name}` does not exist on the type `{kind}`.")
        if kind == "DAR_Husnummer":
            rows = _dar_rows(addresses, query, variables)
            if rows is None:
                return _error("DAR_Husnummer: filter on adgangsadressebetegnelse with eq or "
                              "startsWith")
        elif kind == "BBR_Bygning":
            rows = [b for b in data["bygninger"] if b["husnummer"] == variables.get("id")]
        else:
            wanted = set(variables.get("ids") or [])
            rows = [e for e in data["enheder"] if e["bygning"] in wanted]
        start = int(variables.get("after") or 0)
        page = rows[start:start + page_size]
        selected = selection.group(1).split()
        more = start + page_size < len(rows)
        return JSONResponse({"data": {kind: {
            "nodes": [{f: row.get(f) for f in selected} for row in page],
            "pageInfo": {"hasNextPage": more,
                         "endCursor": str(start + page_size) if more else None}}}})

    @app.get("/BBR/BBRPublic/1/rest/bygning")
    def rest_buildings(request: Request, husnummer: str) -> list[dict[str, Any]]:
        key(request)
        return [b for b in data["bygninger"] if b["husnummer"] == husnummer]

    @app.get("/BBR/BBRPublic/1/rest/enhed")
    def rest_units(request: Request, bygning: str) -> list[dict[str, Any]]:
        key(request)
        return [e for e in data["enheder"] if e["bygning"] == bygning]

    return app


def _dar_rows(addresses: list[dict[str, Any]], query: str,
              variables: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The husnumre the filter picks: ``adgangsadressebetegnelse: { startsWith | eq: $var }``
    (case-sensitive, as Datafordeleren's filters are)."""
    found = re.search(r"adgangsadressebetegnelse:\s*\{\s*(startsWith|eq):\s*\$(\w+)", query)
    if found is None or not isinstance(variables.get(found.group(2)), str):
        return None
    text = variables[found.group(2)]
    if found.group(1) == "eq":
        return [a for a in addresses if a["adgangsadressebetegnelse"] == text]
    return [a for a in addresses if a["adgangsadressebetegnelse"].startswith(text)]
