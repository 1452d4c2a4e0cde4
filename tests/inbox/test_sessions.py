"""Server-side sessions, attacked: a copied cookie after logout, deactivation, timeouts,
rotation, and "log out everywhere" (button and CLI)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from inbox_helpers import csrf_of
from sqlalchemy import update
from starlette.testclient import TestClient
from typer.testing import CliRunner

from casework.db.models import InboxSession, SignoffTask
from casework.db.session import reading, transaction
from casework.inbox.provisioning import UserAccess, deactivate_user, set_user
from casework.inbox.security import COOKIE


def _copy(app, client: TestClient) -> TestClient:
    """An attacker's client holding a copy of the victim's session cookie."""
    thief = TestClient(app)
    thief.cookies.set(COOKIE, client.cookies.get(COOKIE))
    return thief


def _status(engine, task_id):
    with reading(engine) as s:
        return s.get(SignoffTask, task_id).status


def test_copied_cookie_is_dead_after_logout(app, as_user, task_factory, engine):
    task_id = task_factory()
    anna = as_user("anna.byg")
    thief = _copy(app, anna)
    page = thief.get(f"/tasks/{task_id}")
    assert page.status_code == 200
    stolen_csrf = csrf_of(page.text)
    assert anna.post("/logout", data={"csrf": csrf_of(anna.get("/queue").text)},
                     follow_redirects=False).status_code == 303
    # Defect 1: the copy read the queue and approved with its CSRF token after logout.
    assert thief.get("/queue", follow_redirects=False).status_code == 303
    response = thief.post(f"/tasks/{task_id}/decide", data={
        "decision": "approved", "version": "1", "csrf": stolen_csrf}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert _status(engine, task_id) == "awaiting"


def test_deactivation_ends_open_sessions_at_once(app, as_user, engine):
    anna = as_user("anna.byg")
    assert anna.get("/queue").status_code == 200
    assert deactivate_user("anna.byg", engine)
    assert anna.get("/queue", follow_redirects=False).status_code == 303
    with reading(engine) as s:
        row = s.query(InboxSession).filter_by(user_id="anna.byg").one()
        assert row.revoked_why == "deactivated"
    # Reactivated, the old cookie stays dead: a new login is needed.
    set_user(UserAccess(id="anna.byg", display_name="Anna Byggesag", departments=["byggeri"],
                        roles=["caseworker"]), engine)
    assert anna.get("/queue", follow_redirects=False).status_code == 303


def test_idle_and_absolute_timeouts(as_user, engine):
    anna = as_user("anna.byg")
    with transaction(engine) as s:
        s.execute(update(InboxSession).values(
            last_seen_at=datetime.now(UTC) - timedelta(minutes=31)))
    assert anna.get("/queue", follow_redirects=False).status_code == 303

    bo = as_user("bo.byg")
    with transaction(engine) as s:
        s.execute(update(InboxSession).where(InboxSession.user_id == "bo.byg").values(
            created_at=datetime.now(UTC) - timedelta(hours=8, minutes=1)))
    assert bo.get("/queue", follow_redirects=False).status_code == 303  # active, but too old


def test_login_and_privilege_change_rotate_the_session(app, as_user, engine):
    anonymous = TestClient(app)
    anonymous.get("/login")
    before = anonymous.cookies.get(COOKIE)
    anna = as_user("anna.byg")
    first = anna.cookies.get(COOKIE)
    assert first and first != before
    thief = _copy(app, anna)
    # A team lead gives Anna a new role: the next request gets a new session and cookie ...
    set_user(UserAccess(id="anna.byg", display_name="Anna Byggesag", departments=["byggeri"],
                        roles=["caseworker", "team_lead"]), engine)
    assert anna.get("/queue").status_code == 200
    assert anna.cookies.get(COOKIE) != first
    assert anna.get("/oversight").status_code == 200
    # ... and the old cookie no longer works for anyone.
    assert thief.get("/queue", follow_redirects=False).status_code == 303
    with reading(engine) as s:
        live = s.query(InboxSession).filter_by(user_id="anna.byg", revoked_at=None).count()
    assert live == 1


def test_log_out_everywhere_button_and_cli(app, as_user, engine):
    laptop, phone = as_user("anna.byg"), as_user("anna.byg")
    other = as_user("bo.byg")
    response = phone.post("/logout/everywhere", data={"csrf": csrf_of(phone.get("/queue").text)},
                          follow_redirects=False)
    assert response.status_code == 303
    for client in (laptop, phone):
        assert client.get("/queue", follow_redirects=False).status_code == 303
    assert other.get("/queue").status_code == 200  # only Anna's sessions

    from casework.cli import app as cli

    result = CliRunner().invoke(cli, ["inbox", "logout-everywhere", "bo.byg"])
    assert result.exit_code == 0, result.output
    assert "1 session" in result.output
    assert other.get("/queue", follow_redirects=False).status_code == 303


def test_session_token_is_not_stored_in_clear(as_user, engine):
    anna = as_user("anna.byg")
    cookie = anna.cookies.get(COOKIE)
    with reading(engine) as s:
        ids = [row.id for row in s.query(InboxSession)]
    assert ids and all(i not in cookie for i in ids)
