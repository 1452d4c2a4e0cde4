"""OpenID Connect login against the provider stand-in, over loopback HTTP.

Also the faults found against a certified provider: several tabs at once, a provider that is
overloaded or down, a key rotated under the same id, deep links, id_token_hint, logging.

The inbox runs in the test client; its discovery, token and JWKS calls go over the network to
``standins.oidc_provider``; the "browser" side of the provider (login form, logout) is an
httpx client with its own cookies.
"""

from __future__ import annotations

import logging
import re
import socket
import time
from collections.abc import Iterator
from html import unescape
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from inbox_helpers import csrf_of
from sqlalchemy import Engine, update
from starlette.testclient import TestClient
from typer.testing import CliRunner

from casework.db.models import InboxUser
from casework.db.session import transaction
from casework.inbox import oidc_client
from casework.inbox.app import create_app
from casework.inbox.oidc import prelogin_cookie
from casework.inbox.settings import InboxConfigError, InboxSettings
from standins.oidc_provider import ClientRegistration, OidcProvider, ProviderUser

INBOX = "http://testserver"
CLIENT_ID = "casework-inbox"
CLIENT_SECRET = "s3cr:t/+ with spaces"  # exercises form-encoding in client_secret_basic
USERS = {
    "anna": ProviderUser("anna-pw", {"sub": "anna.byg", "name": "Anna Byggesag"}),
    "bo": ProviderUser("bo-pw", {"sub": "bo.byg", "name": "Bo Byggesag"}),
    "ukendt": ProviderUser("ukendt-pw", {"sub": "5f1c0d9e-not-in-inbox", "name": "Ukendt"}),
}
REFRESH = re.compile(r'http-equiv="refresh" content="0; url=([^"]+)"')


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    clients = {CLIENT_ID: ClientRegistration(CLIENT_SECRET, [f"{INBOX}/auth/callback"],
                                             [f"{INBOX}/logged-out"])}
    with OidcProvider(USERS, clients).serving() as running:
        yield running


@pytest.fixture
def op(provider: OidcProvider) -> Iterator[OidcProvider]:
    provider.id_token_overrides, provider.sign_with_foreign_key = {}, False
    provider.token_endpoint_status = None
    yield provider
    provider.id_token_overrides, provider.sign_with_foreign_key = {}, False
    provider.token_endpoint_status = None


def oidc_settings(issuer: str, **overrides: object) -> InboxSettings:
    values: dict[str, object] = dict(secret_key="test-secret", cookie_secure=False,
                                     oidc_issuer=issuer, oidc_client_id=CLIENT_ID,
                                     oidc_client_secret=CLIENT_SECRET)
    values.update(overrides)
    return InboxSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def app(engine: Engine, op: OidcProvider) -> FastAPI:
    assert op.issuer
    return create_app(oidc_settings(op.issuer), engine=engine)


@pytest.fixture
def browser() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


def start_login(inbox: TestClient) -> str:
    response = inbox.get("/login", follow_redirects=False)
    assert response.status_code == 303, response.text
    return response.headers["location"]


def sign_in(browser: httpx.Client, authorize_url: str, username: str) -> str:
    """Fill in the provider's login form; returns the callback URL it redirects to."""
    form = browser.get(authorize_url)
    assert form.status_code == 200 and "<form" in form.text, form.text
    hidden = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form.text))
    hidden = {k: unescape(v) for k, v in hidden.items()}
    answer = browser.post(authorize_url.split("?")[0],
                          data={**hidden, "username": username,
                                "password": USERS[username].password})
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def login(app: FastAPI, browser: httpx.Client, username: str, **headers: str
          ) -> tuple[TestClient, httpx.Response]:
    inbox = TestClient(app, headers=headers or None)
    callback = sign_in(browser, start_login(inbox), username)
    return inbox, inbox.get(callback, follow_redirects=False)


def logged_in(inbox: TestClient) -> bool:
    response = inbox.get("/queue", follow_redirects=False)
    return response.status_code == 200


def test_full_login_lands_on_the_queue(app, browser, op):
    inbox = TestClient(app)
    authorize_url = start_login(inbox)
    params = parse_qs(urlsplit(authorize_url).query)
    assert authorize_url.startswith(f"{op.issuer}/authorize?")
    assert params["code_challenge_method"] == ["S256"]
    assert params["redirect_uri"] == [f"{INBOX}/auth/callback"]
    assert params["state"][0] and params["nonce"][0] and params["code_challenge"][0]
    attempt = prelogin_cookie(params["state"][0])
    assert inbox.cookies.get(attempt)

    wrong = browser.post(f"{op.issuer}/authorize",
                         data={**{k: v[0] for k, v in params.items()}, "username": "anna",
                               "password": "nope"})
    assert wrong.status_code == 401
    callback = sign_in(browser, authorize_url, "anna")
    assert callback.startswith(f"{INBOX}/auth/callback?code=")

    landed = inbox.get(callback, follow_redirects=False)
    assert landed.status_code == 303 and landed.headers["location"] == "/queue"
    assert not inbox.cookies.get(attempt)
    queue = inbox.get("/queue")
    assert queue.status_code == 200 and "Anna Byggesag" in queue.text

    # Single sign-on at the provider: a second login needs no form.
    second = TestClient(app)
    again = browser.get(start_login(second))
    assert again.status_code == 302
    assert second.get(again.headers["location"], follow_redirects=False).status_code == 303
    assert logged_in(second)


def test_wrong_state_is_refused_before_the_code_is_used(app, browser, op, caplog):
    inbox = TestClient(app)
    callback = sign_in(browser, start_login(inbox), "anna")
    requests_before = op.token_requests
    with caplog.at_level(logging.WARNING, logger="casework.inbox.oidc"):
        response = inbox.get(re.sub(r"state=[^&]+", "state=forged", callback),
                             follow_redirects=False)
    assert response.status_code == 400
    assert "Login mislykkedes" in response.text
    assert "state does not match" in caplog.text
    assert op.token_requests == requests_before
    assert not logged_in(inbox)


def test_callback_without_pre_login_cookie_is_refused(app, browser, caplog):
    callback = sign_in(browser, start_login(TestClient(app)), "anna")
    with caplog.at_level(logging.WARNING, logger="casework.inbox.oidc"):
        response = TestClient(app).get(callback, follow_redirects=False)
    assert response.status_code == 400
    assert "no valid pre-login cookie" in caplog.text


def test_replayed_code_is_refused(app, browser, caplog):
    inbox = TestClient(app)
    callback = sign_in(browser, start_login(inbox), "anna")
    attempt = prelogin_cookie(parse_qs(urlsplit(callback).query)["state"][0])
    stolen_cookie = inbox.cookies.get(attempt)
    assert inbox.get(callback, follow_redirects=False).status_code == 303

    attacker = TestClient(app)
    attacker.cookies.set(attempt, stolen_cookie, domain="testserver.local", path="/auth")
    with caplog.at_level(logging.WARNING, logger="casework.inbox.oidc"):
        response = attacker.get(callback, follow_redirects=False)
    assert response.status_code == 400
    assert "invalid_grant" in caplog.text
    assert not logged_in(attacker)


def test_token_signed_by_another_key_is_refused(app, browser, op, caplog):
    op.sign_with_foreign_key = True  # same kid as the published key, different key
    with caplog.at_level(logging.WARNING, logger="casework.inbox.oidc"):
        inbox, response = login(app, browser, "anna")
    assert response.status_code == 400
    assert "BadSignatureError" in caplog.text
    assert not logged_in(inbox)


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"aud": "another-app"}, "aud"),
    ({"exp": -3600, "iat": -7200}, "ExpiredTokenError"),
    ({"nonce": "replayed-nonce"}, "nonce"),
    ({"iss": "http://127.0.0.1:1"}, "iss"),
    ({"iat": None}, "iat"),
])
def test_id_token_claims_are_checked(app, browser, op, caplog, overrides, reason):
    now = int(time.time())
    op.id_token_overrides = {k: now + v if k in ("exp", "iat") and v is not None else v
                             for k, v in overrides.items()}
    with caplog.at_level(logging.WARNING, logger="casework.inbox.oidc"):
        inbox, response = login(app, browser, "anna")
    assert response.status_code == 400, response.text
    assert "ID token refused" in caplog.text and reason in caplog.text
    assert not logged_in(inbox)


def test_small_clock_skew_is_tolerated(app, browser, op):
    op.id_token_overrides = {"exp": int(time.time()) - 10}  # leeway is 60 s
    inbox, response = login(app, browser, "anna")
    assert response.status_code == 303
    assert logged_in(inbox)


def test_unknown_or_inactive_subject_gets_a_clear_403(app, browser, engine):
    inbox, response = login(app, browser, "ukendt", **{"Accept-Language": "en"})
    assert response.status_code == 403
    assert "your account is not set up for the inbox; ask an automation admin" in \
        response.text.lower()
    assert "5f1c0d9e-not-in-inbox" in response.text  # the id an admin needs to set it up
    assert not logged_in(inbox)

    with transaction(engine) as s:
        s.execute(update(InboxUser).where(InboxUser.id == "bo.byg").values(active=False))
    browser.cookies.clear()  # another person at the provider
    inbox, response = login(app, browser, "bo")
    assert response.status_code == 403
    assert "Din konto er ikke sat op til indbakken" in response.text
    assert not logged_in(inbox)


def test_logout_ends_both_sessions(app, browser, op):
    inbox, response = login(app, browser, "anna")
    assert response.status_code == 303
    csrf = csrf_of(inbox.get("/queue").text)
    page = inbox.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert page.status_code == 200
    assert not logged_in(inbox)

    end_session = unescape(REFRESH.search(page.text).group(1))
    assert end_session.startswith(f"{op.issuer}/logout?")
    # The ID token of the session goes along as id_token_hint (some brokers require it).
    hint = parse_qs(urlsplit(end_session).query)["id_token_hint"][0]
    assert hint.count(".") == 2
    back = browser.get(end_session)
    assert back.status_code == 302 and back.headers["location"] == f"{INBOX}/logged-out"
    assert "Du er logget ud" in inbox.get(back.headers["location"]).text

    # The provider's session ended too: the next login asks for the password again.
    form = browser.get(start_login(TestClient(app)))
    assert form.status_code == 200 and "<form" in form.text


def test_unreachable_provider_gives_a_page_not_a_traceback(engine):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inbox = TestClient(create_app(oidc_settings(f"http://127.0.0.1:{port}",
                                                oidc_timeout_seconds=2), engine=engine))
    response = inbox.get("/login", follow_redirects=False)
    assert response.status_code == 502
    assert "Login-tjenesten svarer ikke" in response.text


@pytest.mark.parametrize(("overrides", "named"), [
    ({"oidc_client_id": None}, "CASEWORK_INBOX_OIDC_CLIENT_ID"),
    ({"dev_login": True}, "CASEWORK_INBOX_DEV_LOGIN"),
    ({"oidc_issuer": "http://login.example.dk"}, "CASEWORK_INBOX_OIDC_ISSUER"),
    ({"oidc_scopes": "profile email"}, "CASEWORK_INBOX_OIDC_SCOPES"),
    ({"oidc_issuer": None}, "CASEWORK_INBOX_OIDC_ISSUER"),
])
def test_misconfiguration_is_refused_at_startup(engine, overrides, named):
    settings = oidc_settings("https://login.example.dk/tenant/v2.0", **overrides)
    with pytest.raises(InboxConfigError, match=named):
        create_app(settings, engine=engine)


def test_serve_command_names_the_missing_setting(monkeypatch):
    import typer

    from casework.inbox.cli import register

    monkeypatch.setenv("CASEWORK_INBOX_OIDC_ISSUER", "https://login.example.dk")
    monkeypatch.delenv("CASEWORK_INBOX_OIDC_CLIENT_ID", raising=False)
    monkeypatch.delenv("CASEWORK_INBOX_DEV_LOGIN", raising=False)
    cli = typer.Typer()
    cli.callback()(lambda: None)
    register(cli)
    result = CliRunner().invoke(cli, ["inbox", "serve"])
    assert result.exit_code == 2
    assert "CASEWORK_INBOX_OIDC_CLIENT_ID" in result.output
    assert "Traceback" not in result.output


def test_provider_token_endpoint_enforces_pkce_client_and_one_time_codes(op, browser):
    verifier = "v" * 50
    import base64
    import hashlib

    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()) \
        .rstrip(b"=").decode()
    query = {"response_type": "code", "client_id": CLIENT_ID, "scope": "openid",
             "redirect_uri": f"{INBOX}/auth/callback", "state": "s", "nonce": "n",
             "code_challenge": challenge, "code_challenge_method": "S256"}
    no_pkce = browser.get(f"{op.issuer}/authorize",
                          params={**query, "code_challenge_method": "plain"})
    assert no_pkce.status_code == 400

    def code() -> str:
        answer = browser.post(f"{op.issuer}/authorize",
                              data={**query, "username": "anna", "password": "anna-pw"})
        return parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]

    def exchange(code_value: str, **data: str) -> httpx.Response:
        form = {"grant_type": "authorization_code", "code": code_value,
                "redirect_uri": f"{INBOX}/auth/callback", "code_verifier": verifier,
                "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **data}
        return httpx.post(f"{op.issuer}/token", data=form)

    assert exchange(code(), client_secret="wrong").status_code == 401
    assert exchange(code(), code_verifier="w" * 50).json() == {"error": "invalid_grant"}
    first = code()
    assert "id_token" in exchange(first).json()  # client_secret_post
    assert exchange(first).json() == {"error": "invalid_grant"}


def test_user_set_command_gives_access_that_the_oidc_login_then_uses(app, browser, engine):
    import typer

    from casework.inbox.cli import register

    cli = typer.Typer()
    cli.callback()(lambda: None)
    register(cli)
    runner = CliRunner()
    refused = runner.invoke(cli, ["inbox", "user-set", "5f1c0d9e-not-in-inbox", "--name", "Ny",
                                  "--role", "boss"])
    assert refused.exit_code == 2 and "unknown role(s) boss" in refused.output
    assert "Traceback" not in refused.output
    created = runner.invoke(cli, ["inbox", "user-set", "5f1c0d9e-not-in-inbox", "--name",
                                  "Nina Ny", "--department", "byggeri", "--role", "caseworker"])
    assert created.exit_code == 0, created.output
    inbox, response = login(app, browser, "ukendt")
    assert response.status_code == 303
    assert "Nina Ny" in inbox.get("/queue").text

    assert runner.invoke(cli, ["inbox", "user-deactivate", "5f1c0d9e-not-in-inbox"]).exit_code == 0
    browser.cookies.clear()
    assert login(app, browser, "ukendt")[1].status_code == 403
    assert runner.invoke(cli, ["inbox", "user-deactivate", "nobody"]).exit_code == 1


def _state(url: str) -> str:
    return parse_qs(urlsplit(url).query)["state"][0]


def test_two_tabs_can_log_in_at_once(app, browser, op):
    inbox = TestClient(app)  # one browser, one cookie jar, two tabs
    tab_a = inbox.get("/login", follow_redirects=False).headers["location"]
    tab_b = inbox.get("/login", follow_redirects=False).headers["location"]
    assert _state(tab_a) != _state(tab_b)
    callback_b = sign_in(browser, tab_b, "anna")
    callback_a = browser.get(tab_a).headers["location"]  # SSO: no form the second time
    # A failure in a third tab must not spend the others' attempts.
    tab_c = inbox.get("/login", follow_redirects=False).headers["location"]
    failed = inbox.get(f"/auth/callback?error=access_denied&state={_state(tab_c)}")
    assert failed.status_code == 400
    assert inbox.get(callback_a, follow_redirects=False).status_code == 303
    assert inbox.get(callback_b, follow_redirects=False).status_code == 303
    assert logged_in(inbox)


def test_token_endpoint_503_says_the_service_is_not_responding(app, browser, op, caplog):
    inbox = TestClient(app, headers={"Accept-Language": "en"})
    callback = sign_in(browser, inbox.get("/login", follow_redirects=False)
                       .headers["location"], "anna")
    op.token_endpoint_status = 503
    with caplog.at_level(logging.ERROR, logger="casework.inbox.oidc"):
        response = inbox.get(callback, follow_redirects=False)
    assert response.status_code == 502
    assert "The login service is not responding" in response.text
    assert "HTTP 503" in caplog.text
    assert not logged_in(inbox)


def test_key_rotated_under_the_same_id_is_fetched_again(app, browser, op, monkeypatch):
    first, _ = _login(app, browser)
    assert logged_in(first)
    op.rotate_key(same_kid=True)
    monkeypatch.setattr(oidc_client, "JWKS_REFETCH_INTERVAL", 0.0)
    browser.cookies.clear()
    again, response = _login(app, browser)
    assert response.status_code == 303, response.text
    assert logged_in(again)


def test_key_set_is_refreshed_after_a_bounded_age(app, browser, op, monkeypatch):
    _login(app, browser)
    before = op.jwks_requests
    monkeypatch.setattr(oidc_client, "JWKS_MAX_AGE", 0.0)
    _login(app, browser)
    assert op.jwks_requests == before + 1


def _login(app, browser, path: str = "/login"):
    inbox = TestClient(app)
    start = inbox.get(path, follow_redirects=False).headers["location"]
    if start.startswith("/login"):
        start = inbox.get(start, follow_redirects=False).headers["location"]
    callback = sign_in(browser, start, "anna") if not browser.cookies else \
        browser.get(start).headers["location"]
    return inbox, inbox.get(callback, follow_redirects=False)


def test_provider_down_with_cached_metadata_shows_our_page(engine, monkeypatch):
    clients = {CLIENT_ID: ClientRegistration(CLIENT_SECRET, [f"{INBOX}/auth/callback"])}
    down = OidcProvider(USERS, clients)
    with down.serving():
        inbox = TestClient(create_app(oidc_settings(down.issuer, oidc_timeout_seconds=2),
                                      engine=engine))
        assert inbox.get("/login", follow_redirects=False).status_code == 303  # cached now
    monkeypatch.setattr(oidc_client, "REACHABLE_FOR", 0.0)
    response = inbox.get("/login", follow_redirects=False)
    assert response.status_code == 502  # not a redirect to the dead host
    assert "Login-tjenesten svarer ikke" in response.text


@pytest.mark.parametrize(("asked", "lands"), [
    ("/history?page=2", "/history?page=2"),
    ("//evil.example/x", "/queue"),
    ("https://evil.example/", "/queue"),
    ("/\\evil.example", "/queue"),
])
def test_deep_link_survives_the_login_and_only_locally(app, browser, op, asked, lands):
    inbox = TestClient(app)
    if asked.startswith("/") and not asked.startswith(("//", "/\\")):
        first = inbox.get(asked, follow_redirects=False)
        assert first.status_code == 303
        start = inbox.get(first.headers["location"], follow_redirects=False)
    else:  # an attacker's link straight to the login page
        start = inbox.get("/login", params={"next": asked}, follow_redirects=False)
    browser.cookies.clear()
    callback = sign_in(browser, start.headers["location"], "anna")
    landed = inbox.get(callback, follow_redirects=False)
    assert landed.status_code == 303 and landed.headers["location"] == lands


def test_serve_configures_logging_and_hides_the_server(monkeypatch):
    import uvicorn

    from casework.cli import app as cli

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda _app, **kw: seen.update(kw))
    monkeypatch.setenv("CASEWORK_INBOX_DEV_LOGIN", "true")
    monkeypatch.delenv("CASEWORK_INBOX_OIDC_ISSUER", raising=False)
    result = CliRunner().invoke(cli, ["inbox", "serve"])
    assert result.exit_code == 0, result.output
    assert seen["server_header"] is False
    config = seen["log_config"]
    assert isinstance(config, dict)
    casework_logger = config["loggers"]["casework"]
    assert casework_logger["level"] == "INFO" and casework_logger["handlers"]
    assert "asctime" in config["formatters"]["casework"]["format"]
    assert "levelname" in config["formatters"]["casework"]["format"]
