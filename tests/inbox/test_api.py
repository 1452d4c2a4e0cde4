"""The JSON API (/api) against the web form's rules: scope, strict values, four-eyes, token
revocation, audit; and that the browser's cookie reaches nothing there."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from inbox_helpers import decide as form_decide
from inbox_helpers import make_task
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from casework.db.models import AuditEvent, LedgerEntry, SignoffTask
from casework.db.session import reading, transaction
from casework.inbox.api.tokens import create_token, revoke_token


def token_for(engine: Engine, user_id: str, **scope: list[str]) -> str:
    with transaction(engine) as s:
        return create_token(s, user_id=user_id, name=f"script of {user_id}", by="admin",
                            **scope).secret


@pytest.fixture
def api(app: FastAPI, engine: Engine) -> Callable[..., TestClient]:
    def client(user_id: str, **scope: list[str]) -> TestClient:
        token = token_for(engine, user_id, **scope)
        return TestClient(app, headers={"Authorization": f"Bearer {token}"})
    return client


SCHEMA = {"type": "object", "properties": {
    "kle": {"type": "string"}, "title": {"type": "string"}, "confidence": {"type": "number"},
    "why": {"type": "array"}, "alternatives": {"type": "array"}}}


def version(engine: Engine, task_id: str) -> int:
    with reading(engine) as s:
        return s.get(SignoffTask, task_id).version


def test_lists_and_reads_only_tasks_in_scope(api, task_factory) -> None:
    mine = task_factory(department="byggeri")
    other = task_factory(department="borgerservice")
    anna = api("anna.byg")
    listed = anna.get("/api/tasks").json()
    assert [t["id"] for t in listed["tasks"]] == [mine] and listed["total"] == 1
    assert anna.get(f"/api/tasks/{mine}").json()["suggestion"]["kle"] == "02.34.02"
    # Another department's task is "not found", as on the web form (ids tell nothing).
    assert anna.get(f"/api/tasks/{other}").status_code == 404
    assert anna.post(f"/api/tasks/{other}/decide", json={
        "decision": "approved", "version": 1}).status_code == 404


def test_token_scope_narrows_the_user_never_widens(api, task_factory, engine) -> None:
    byg = task_factory(department="byggeri")
    teknik = task_factory(department="teknik-miljo")
    lise = api("lise.leder", departments=["teknik-miljo"])
    assert [t["id"] for t in lise.get("/api/tasks").json()["tasks"]] == [teknik]
    assert lise.get(f"/api/tasks/{byg}").status_code == 404
    from casework.inbox.api.tokens import TokenError

    with pytest.raises(TokenError, match="not in it"), transaction(engine) as s:
        create_token(s, user_id="anna.byg", name="x", by="admin", departments=["skole"])
    with pytest.raises(TokenError, match="does not have"), transaction(engine) as s:
        create_token(s, user_id="anna.byg", name="x", by="admin", roles=["manager"])


def test_decision_is_audited_and_credited_like_the_form(api, task_factory, engine) -> None:
    task_id = task_factory()
    response = api("anna.byg").post(f"/api/tasks/{task_id}/decide",
                                    json={"decision": "approved", "version": 1})
    assert response.status_code == 200, response.text
    with reading(engine) as s:
        task = s.get(SignoffTask, task_id)
        assert (task.status, task.decision, task.decided_by) == ("decided", "approved",
                                                                 "anna.byg")
        assert s.get(LedgerEntry, task_id).outcome == "approved"
        actions = s.scalars(select(AuditEvent.action)
                            .where(AuditEvent.actor == "anna.byg")).all()
    assert "signoff.approved" in actions


@pytest.mark.parametrize(("body", "error"), [
    ({"decision": "amended", "version": 1, "reason": "wrong",
      "value": {"kle": "99.99.99"}}, "unknown_kle"),
    ({"decision": "amended", "version": 1, "reason": "wrong",
      "value": {"nonsense": 1}}, "value_field_unknown"),
    ({"decision": "amended", "version": 1, "reason": "wrong",
      "value": {"confidence": "high"}}, "value_field_invalid"),
    ({"decision": "amended", "version": 1, "value": {"kle": "02.34.02"}}, "reason_required"),
    ({"decision": "rejected", "version": 1}, "reason_required"),
    ({"decision": "rejected", "version": 1, "reason": "x" * 2001}, "bad_request"),
    ({"decision": "maybe", "version": 1}, "bad_request"),
    ({"decision": "approved", "version": 1, "extra": True}, "bad_request"),
])
def test_values_are_checked_as_strictly_as_the_form(api, task_factory, engine, body,
                                                    error) -> None:
    task_id = task_factory()
    with transaction(engine) as s:  # as the runtime stores it: the result model's schema
        task = s.get(SignoffTask, task_id)
        task.payload = {**task.payload, "result_schema": SCHEMA}
    response = api("anna.byg").post(f"/api/tasks/{task_id}/decide", json=body)
    assert response.status_code == 400 and response.json()["error"] == error
    assert version(engine, task_id) == 1  # nothing stored


def test_nan_and_infinity_are_not_json(api, task_factory) -> None:
    task_id = task_factory()
    client = api("anna.byg")
    for number in ("NaN", "Infinity", "1e400"):
        response = client.post(
            f"/api/tasks/{task_id}/decide", headers={"Content-Type": "application/json"},
            content=('{"decision": "amended", "version": 1, "reason": "r", '
                     f'"value": {{"confidence": {number}}}}}'))
        assert (response.status_code, response.json()["error"]) == (400, "invalid_json")


def test_stale_version_and_double_decision_conflict(api, task_factory) -> None:
    task_id = task_factory()
    client = api("anna.byg")
    assert client.post(f"/api/tasks/{task_id}/decide", json={
        "decision": "approved", "version": 7}).json()["error"] == "stale"
    assert client.post(f"/api/tasks/{task_id}/decide", json={
        "decision": "approved", "version": 1}).status_code == 200
    again = client.post(f"/api/tasks/{task_id}/decide", json={
        "decision": "approved", "version": 2})
    assert (again.status_code, again.json()["error"]) == (409, "already_decided")


def test_four_eyes_refuses_the_first_decider(api, engine, as_user) -> None:
    first = make_task(engine, case_ref="c_" + "4" * 24)
    second = make_task(engine, case_ref="c_" + "4" * 24, four_eyes=True)
    assert form_decide(as_user("anna.byg"), first, "approved").status_code == 303
    anna = api("anna.byg")
    refused = anna.post(f"/api/tasks/{second}/decide", json={"decision": "approved",
                                                             "version": 1})
    assert (refused.status_code, refused.json()["error"]) == (403, "four_eyes_refused")
    assert anna.post(f"/api/tasks/{second}/claim").json()["error"] == "four_eyes_refused"
    assert api("bo.byg").post(f"/api/tasks/{second}/decide", json={
        "decision": "approved", "version": 1}).status_code == 200


def test_claim_and_release_follow_the_form(api, task_factory) -> None:
    task_id = task_factory()
    anna, bo = api("anna.byg"), api("bo.byg")
    assert anna.post(f"/api/tasks/{task_id}/claim").json()["claimed_by"] == "anna.byg"
    taken = bo.post(f"/api/tasks/{task_id}/decide", json={"decision": "approved",
                                                          "version": 2})
    assert taken.json()["error"] == "claimed_by_other"
    assert bo.post(f"/api/tasks/{task_id}/release").json()["error"] == "forbidden"
    assert anna.post(f"/api/tasks/{task_id}/release").json()["claimed_by"] is None
    lise = api("lise.leder")
    handed = lise.post(f"/api/tasks/{task_id}/release", json={"reassign_to": "bo.byg"})
    assert handed.json()["claimed_by"] == "bo.byg"


def test_revoked_or_unknown_tokens_and_cookies_get_nothing(app, engine, task_factory,
                                                           as_user) -> None:
    task_id = task_factory()
    with transaction(engine) as s:
        created = create_token(s, user_id="anna.byg", name="cron", by="admin")
    client = TestClient(app, headers={"Authorization": f"Bearer {created.secret}"})
    assert client.get("/api/me").json()["id"] == "anna.byg"
    with transaction(engine) as s:
        revoke_token(s, created.id, by="admin")
    assert client.get("/api/tasks").status_code == 401
    assert TestClient(app, headers={"Authorization": "Bearer cwt_guess"}).get(
        "/api/tasks").status_code == 401
    # A logged-in browser (session cookie) reaches nothing in /api, GET or POST.
    browser = as_user("anna.byg")
    assert browser.get("/api/tasks").status_code == 401
    assert browser.post(f"/api/tasks/{task_id}/decide", json={
        "decision": "approved", "version": 1}).status_code == 401
    assert version(engine, task_id) == 1


def test_a_deactivated_users_tokens_stop(api, engine) -> None:
    from casework.inbox.provisioning import deactivate_user

    client = api("bo.byg")
    assert client.get("/api/me").status_code == 200
    assert deactivate_user("bo.byg", engine=engine)
    assert client.get("/api/me").status_code == 401


def test_shadow_tasks_hide_the_robots_answer(api, engine, task_factory) -> None:
    task_id = task_factory()
    with transaction(engine) as s:
        s.get(SignoffTask, task_id).kind = "shadow"
    assert api("anna.byg").get(f"/api/tasks/{task_id}").json()["suggestion"] is None


def test_openapi_and_docs_are_published(app) -> None:
    client = TestClient(app)
    spec = client.get("/api/openapi.json").json()
    assert "/tasks/{task_id}/decide" in spec["paths"]
    page = client.get("/api/docs")
    assert page.status_code == 200 and "/api/tasks/{task_id}/decide" in page.text
