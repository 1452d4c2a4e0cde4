"""Who sees what: own departments and roles only; everything else is 404."""

from __future__ import annotations

from inbox_helpers import csrf_of
from sqlalchemy import select

from casework.db.models import SignoffTask
from casework.db.session import reading
from casework.inbox.app import create_app
from casework.inbox.settings import InboxSettings


def test_queue_shows_only_own_departments(as_user, task_factory):
    task_factory(department="byggeri", summary="Carport på Østergade")
    task_factory(department="borgerservice", summary="Boligstøtte efter flytning")
    page = as_user("anna.byg").get("/queue")
    assert page.status_code == 200
    assert "Carport på Østergade" in page.text
    assert "Boligstøtte" not in page.text
    other = as_user("karl.borger").get("/queue")
    assert "Boligstøtte efter flytning" in other.text
    assert "Carport" not in other.text


def test_role_must_match_signoff_roles(as_user, task_factory):
    task_id = task_factory(department="byggeri", roles=["team_lead"], summary="Kun for ledere")
    anna = as_user("anna.byg")
    assert "Kun for ledere" not in anna.get("/queue").text
    assert anna.get(f"/tasks/{task_id}").status_code == 404
    assert as_user("lise.leder").get(f"/tasks/{task_id}").status_code == 200


def test_other_departments_task_is_not_found_for_read_and_write(as_user, task_factory, engine):
    task_id = task_factory(department="borgerservice")
    anna = as_user("anna.byg")
    csrf = csrf_of(anna.get("/queue").text)
    missing = anna.get("/tasks/does-not-exist")
    guessed = anna.get(f"/tasks/{task_id}")
    assert guessed.status_code == missing.status_code == 404
    for path, data in [
        (f"/tasks/{task_id}/decide", {"decision": "approved", "version": "1"}),
        (f"/tasks/{task_id}/claim", {}),
        (f"/tasks/{task_id}/release", {}),
        (f"/tasks/{task_id}/heartbeat", {"view_id": "1"}),
    ]:
        response = anna.post(path, data={"csrf": csrf, **data}, follow_redirects=False)
        assert response.status_code == 404, path
    with reading(engine) as s:
        task = s.get(SignoffTask, task_id)
        assert task.status == "awaiting" and task.claimed_by is None


def test_anonymous_is_sent_to_login(app):
    from starlette.testclient import TestClient

    client = TestClient(app)
    for path in ("/queue", "/history", "/oversight"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].split("?")[0] == "/login"


def test_dev_login_off_by_default(engine):
    from starlette.testclient import TestClient

    client = TestClient(create_app(InboxSettings(secret_key="x", cookie_secure=False),
                                   engine=engine))
    page = client.get("/login")
    assert page.status_code == 503
    assert "anna.byg" not in page.text
    assert client.post("/login", data={"user_id": "anna.byg"}).status_code == 405


def test_dev_login_is_marked_and_needs_csrf(app):
    from starlette.testclient import TestClient

    client = TestClient(app)
    page = client.get("/login")
    assert "LOKAL UDVIKLING" in page.text
    refused = client.post("/login", data={"user_id": "anna.byg", "csrf": "wrong"},
                          follow_redirects=False)
    assert refused.status_code == 403


def _flip(value: str, index: int) -> str:
    """The cookie with one character changed to a different one (never the same by chance)."""
    replacement = "A" if value[index] != "A" else "B"
    return value[:index] + replacement + value[index + 1:]


def test_tampered_session_cookie_is_not_a_login(as_user):
    client = as_user("anna.byg")
    value = client.cookies.get("cw_inbox")
    assert client.get("/queue", follow_redirects=False).status_code == 200
    body_end = value.rindex(".")
    # a character of the signature, the last one, the first of the body, and one just before the dot
    for index in (len(value) - 2, len(value) - 1, 0, body_end - 1):
        tampered = _flip(value, index)
        assert tampered != value
        client.cookies.set("cw_inbox", tampered)
        assert client.get("/queue", follow_redirects=False).status_code == 303, index


def test_history_lists_only_own_decisions(as_user, task_factory, engine):
    from inbox_helpers import decide

    mine = task_factory(department="byggeri", summary="Min sag")
    theirs = task_factory(department="byggeri", summary="Bos sag")
    anna, bo = as_user("anna.byg"), as_user("bo.byg")
    assert decide(anna, mine, "approved").status_code == 303
    assert decide(bo, theirs, "rejected", reason="forkert").status_code == 303
    history = anna.get("/history").text
    with reading(engine) as s:
        refs = dict(s.execute(select(SignoffTask.id, SignoffTask.case_ref)).all())
    # Listed by what a person recognises (no pseudonyms on the page), linked by task.
    assert "Min sag" in history and "Bos sag" not in history
    assert f"/tasks/{mine}" in history and f"/tasks/{theirs}" not in history
    assert refs[mine] not in history
