"""CSRF, no deciding by GET, escaping of untrusted case text, headers and cookie flags."""

from __future__ import annotations

from inbox_helpers import VERSION, csrf_of, decide

from casework.db.models import DecisionOutbox, SignoffTask
from casework.db.session import reading


def _status(engine, task_id):
    with reading(engine) as s:
        return s.get(SignoffTask, task_id).status


def test_decision_without_or_with_wrong_csrf_is_refused(as_user, task_factory, engine):
    task_id = task_factory()
    anna = as_user("anna.byg")
    for token in ("", "wrong-token"):
        response = decide(anna, task_id, "approved", csrf=token)
        assert response.status_code == 403
    # A token from another session is not accepted either.
    bo_token = csrf_of(as_user("bo.byg").get("/queue").text)
    assert decide(anna, task_id, "approved", csrf=bo_token).status_code == 403
    assert _status(engine, task_id) == "awaiting"
    with reading(engine) as s:
        assert s.query(DecisionOutbox).count() == 0


def test_get_never_decides(as_user, task_factory, engine):
    task_id = task_factory()
    anna = as_user("anna.byg")
    page = anna.get(f"/tasks/{task_id}")
    version, csrf = VERSION.search(page.text).group(1), csrf_of(page.text)
    response = anna.get(f"/tasks/{task_id}/decide",
                        params={"decision": "approved", "version": version, "csrf": csrf})
    assert response.status_code == 405
    anna.get(f"/tasks/{task_id}", params={"decision": "approved", "csrf": csrf})
    assert _status(engine, task_id) == "awaiting"


def test_script_in_case_text_is_inert(as_user, task_factory):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    task_id = task_factory(summary=evil, suggestion={"kle": "02.34.02", "title": evil,
                                                     "why": [evil], "alternatives": []})
    anna = as_user("anna.byg")
    for page in (anna.get(f"/tasks/{task_id}"), anna.get("/queue")):
        assert '<script>alert("x")' not in page.text
        assert "<img src=x" not in page.text
        assert "&lt;script&gt;alert(" in page.text
    # The only script on the page is the nonce'd heartbeat, and the CSP names that nonce.
    page = anna.get(f"/tasks/{task_id}")
    csp = page.headers["content-security-policy"]
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert page.text.count("<script") == 1
    assert f'<script nonce="{nonce}">' in page.text


def test_security_headers_and_cookie_flags(app, as_user, task_factory):
    from starlette.testclient import TestClient

    login_page = TestClient(app).get("/login")
    cookie = login_page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    task_id = task_factory()
    page = as_user("anna.byg").get(f"/tasks/{task_id}")
    headers = page.headers
    assert headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["cache-control"] == "no-store"
    assert '<html lang="da">' in page.text


def test_secure_cookie_by_default(engine):
    from starlette.testclient import TestClient

    from casework.inbox.app import create_app
    from casework.inbox.settings import InboxSettings

    app = create_app(InboxSettings(dev_login=True, secret_key="s"), engine=engine)
    cookie = TestClient(app).get("/login").headers["set-cookie"].lower()
    assert "secure" in cookie


def test_language_switch_redirects_only_to_this_site(as_user):
    anna = as_user("anna.byg")
    csrf = csrf_of(anna.get("/queue").text)
    for referer, target in (("https://evil.example/phish", "/queue"),
                            ("//evil.example/x", "/queue"),
                            ("http://evil.example/history", "/queue"),
                            ("javascript:alert(1)", "/queue"),
                            ("http://testserver/history?page=2", "/history?page=2"),
                            ("", "/queue")):
        response = anna.post("/language", data={"language": "da", "csrf": csrf},
                             headers={"referer": referer}, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == target, referer  # defect 7


def test_done_message_only_for_a_decision_really_made(as_user, task_factory):
    task_id = task_factory()
    anna, bo = as_user("anna.byg"), as_user("bo.byg")
    for done in ("approved", "rejected", "amended", "answer"):
        page = anna.get(f"/tasks/{task_id}", params={"done": done})
        assert "Behandlingen er gemt" not in page.text  # defect 8: still awaiting
    assert decide(bo, task_id, "approved").status_code == 303
    assert "Behandlingen er gemt" not in anna.get(f"/tasks/{task_id}?done=approved").text
    assert "Behandlingen er gemt" not in bo.get(f"/tasks/{task_id}?done=rejected").text
    assert "Behandlingen er gemt" in bo.get(f"/tasks/{task_id}?done=approved").text


def test_error_pages_carry_the_security_headers(as_user):
    anna = as_user("anna.byg")
    for response in (anna.get("/tasks/nope"), anna.get("/queue?page=" + "9" * 30),
                     anna.get("/oversight"), anna.post("/language", data={"language": "x"})):
        assert response.status_code in (400, 403, 404)
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
