"""Every route × malformed input, as an attacker sends it: a non-ASCII cookie, huge integers,
1 MB text, wrong types, non-ASCII and control characters, a malformed CSRF token.

For each: no 5xx, the security headers on the response (error pages included), and the
database unchanged (but for read bookkeeping: task views and session last-seen times).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from inbox_helpers import csrf_of, login, make_task
from sqlalchemy import Engine, MetaData, select
from starlette.testclient import TestClient

from casework.inbox.provisioning import UserAccess, set_user
from casework.inbox.security import COOKIE

MB = "x" * 1_000_000
VARIANTS: dict[str, list[str]] = {
    "huge_int": [str(10**30)],
    "negative_int": ["-1"],
    "megabyte": [MB],
    "wrong_type": ["[]", "{}"],  # a list (repeated key) of things that are not the type
    "non_ascii": ["ø💥\u202e"],
    "control": ["a\x00b\r\nSet-Cookie: x=y"],
}
#: Read bookkeeping that a GET may write: not a state change an attacker can cause.
BOOKKEEPING = {"task_views", "inbox_sessions"}
REQUIRED_HEADERS = ("content-security-policy", "x-frame-options", "x-content-type-options",
                    "cache-control", "referrer-policy")
REPORT_FIELDS = ("department", "from", "to", "flow", "language")


_TABLES: dict[str, MetaData] = {}


def _fingerprint(engine: Engine) -> str:
    digest = hashlib.sha256()
    meta = _TABLES.get(str(engine.url))
    if meta is None:
        meta = _TABLES[str(engine.url)] = MetaData()
        meta.reflect(engine)
    with engine.connect() as conn:
        for name in sorted(meta.tables):
            if name in BOOKKEEPING or name == "alembic_version":
                continue
            rows = conn.execute(select(meta.tables[name])).all()
            digest.update(name.encode())
            for row in sorted(repr(tuple(r)) for r in rows):
                digest.update(row.encode())
    return digest.hexdigest()


def _routes(app: FastAPI) -> Iterator[tuple[str, APIRoute]]:
    for route in app.routes:
        if isinstance(route, APIRoute):
            for method in sorted(route.methods - {"HEAD"}):
                yield method, route


def _param_names(route: APIRoute) -> tuple[list[str], list[str]]:
    query = [p.alias for p in route.dependant.query_params]
    body = [p.alias for p in route.dependant.body_params]
    if route.path == "/reports/download":
        query += list(REPORT_FIELDS)
    return query, body


@pytest.fixture
def sweep(app: FastAPI, engine: Engine):
    set_user(UserAccess(id="sweeper", display_name="Sweeper", departments=["byggeri"],
                        roles=["caseworker", "team_lead", "manager", "automation_admin"]),
             engine)
    task_id = make_task(engine, roles=["caseworker", "team_lead", "manager"])
    client = login(app, "sweeper")
    csrf = csrf_of(client.get("/queue").text)
    return client, csrf, task_id


def _path(route: APIRoute, task_id: str, value: str | None = None) -> str:
    bad = quote(value[:2000], safe="") if value is not None else task_id
    return (route.path.replace("{task_id}", bad)
            .replace("{flow}", "journal"))


def _check(response, engine: Engine, before: str, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code}"
    for header in REQUIRED_HEADERS:
        assert header in response.headers, f"{what}: no {header}"
    assert "server" not in response.headers
    assert _fingerprint(engine) == before, f"{what}: the database changed"


def _send(client: TestClient, method: str, path: str, query: list[str], body: list[str],
          values: list[str], csrf: str | None, **kw):
    def fill(names: list[str], limit: int | None = None) -> dict[str, list[str]]:
        out = {n: [v[:limit] for v in values] for n in names if n != "csrf"}
        if "csrf" in names:
            out["csrf"] = [csrf] if csrf is not None else [v[:limit] for v in values]
        return out

    # httpx refuses URLs over 64 KiB (as servers do): query values get 8 000 characters each.
    return client.request(method, path, params=fill(query, 8_000), data=fill(body) or None,
                          follow_redirects=False, **kw)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_route_survives_malformed_values(app, engine, sweep, variant):
    client, csrf, task_id = sweep
    values = VARIANTS[variant]
    before = _fingerprint(engine)
    for method, route in _routes(app):
        query, body = _param_names(route)
        # Every parameter malformed, the CSRF token included: nothing may change.
        response = _send(client, method, _path(route, task_id), query, body, values, None)
        _check(response, engine, before, f"{method} {route.path} {variant}")
        if method == "POST" and [n for n in body if n != "csrf"]:
            # A valid CSRF token, everything else malformed: refused past the CSRF check.
            response = _send(client, method, _path(route, task_id), query, body, values, csrf)
            _check(response, engine, before, f"{method} {route.path} {variant} +csrf")
        if "{task_id}" in route.path and variant in ("megabyte", "non_ascii", "control"):
            response = _send(client, method, _path(route, task_id, values[0]), query, body,
                             ["1"], None)
            _check(response, engine, before, f"{method} {route.path} {variant} in path")


@pytest.mark.parametrize("cookie", [
    "cw_inbox=ø".encode("latin-1"), "cw_inbox=ø".encode(), "cw_inbox=☃.☃".encode(),
    b"cw_inbox=" + b"A" * 10000 + b".sig", b"cw_inbox=e30.e30", b"cw_inbox=%ff%fe",
])
def test_malformed_cookie_is_no_session_on_every_route(app, engine, sweep, cookie):
    _, csrf, task_id = sweep
    before = _fingerprint(engine)
    raw = TestClient(app)
    for method, route in _routes(app):
        query, body = _param_names(route)
        response = _send(raw, method, _path(route, task_id), query, body, ["1"], csrf,
                         headers={"cookie": cookie})
        _check(response, engine, before, f"{method} {route.path} cookie={cookie[:20]!r}")
        assert response.status_code != 200 or route.path in (
            "/login", "/logged-out"), f"{route.path} served with a bad cookie"


def test_unhandled_error_still_carries_the_headers(app, engine, sweep, monkeypatch):
    from casework.inbox import queue

    def boom(*_a, **_k):
        raise RuntimeError("simulated fault")

    monkeypatch.setattr(queue, "load_queue", boom)
    client, _, _ = sweep
    client = TestClient(app, raise_server_exceptions=False, cookies=client.cookies)
    response = client.get("/queue")
    assert response.status_code == 500
    for header in REQUIRED_HEADERS:
        assert header in response.headers
    assert "simulated fault" not in response.text


def test_cookie_is_a_sealed_token_not_data(sweep):
    client, _, _ = sweep
    assert client.cookies.get(COOKIE).count(".") == 1
