"""Notifications: a caseworker's e-mail digest arrives on a local SMTP server (aiosmtpd on
127.0.0.1) in her language, its links open the task without deciding it, nothing is told twice,
a team's webhook gets a Teams card, and a failed send is tried again."""

from __future__ import annotations

import json
import re
import socket
import threading
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from inbox_helpers import make_task
from sqlalchemy import select
from typer.testing import CliRunner

from casework.db.models import NotificationSent, SignoffTask
from casework.db.session import reading
from casework.inbox.notify import notify_due, subscribe
from casework.inbox.notify_send import SmtpSettings

BASE = "http://testserver"


class Sink:
    """Collects every message the SMTP server receives."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append((envelope.rcpt_tos,
                              message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def smtp():
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield sink, SmtpSettings(host="127.0.0.1", port=controller.port,
                                 sender="indbakke@kommune.example")
    finally:
        controller.stop()


@pytest.fixture
def webhook():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"1")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield received, f"http://127.0.0.1:{server.server_port}/hook"
    finally:
        server.shutdown()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _links(text: str) -> list[str]:
    return re.findall(r"http://testserver/tasks/[\w-]+", text)


def test_digest_arrives_in_her_language_and_the_link_opens_the_task(engine, smtp, as_user,
                                                                     app):
    sink, settings = smtp
    start = datetime.now(UTC) - timedelta(minutes=5)
    subscribe(engine, user_id="anna.byg", email="anna@kommune.example", language="nb",
              every_minutes=30, now=start)
    new = make_task(engine, summary="Ansøgning fra Jens Hansen om carport")
    late = make_task(engine, deadline_hours=-1)
    other = make_task(engine, department="teknik-miljo")  # not hers to see
    claimed = make_task(engine)
    with engine.begin() as conn:  # a colleague took this one
        conn.execute(SignoffTask.__table__.update().where(SignoffTask.id == claimed)
                     .values(claimed_by="lise.leder"))

    report = notify_due(engine, base_url=BASE, smtp=settings)
    assert (report.sent, report.failed) == (1, 0)
    [(to, mail)] = sink.messages
    assert to == ["anna@kommune.example"]
    assert mail["Subject"] == "Godkjenningsinnboks: 1 ny oppgave, 1 over fristen"
    body = mail.get_content()
    assert body.startswith("Hei Anna Byggesag")
    assert "Oppgaver der fristen er overskredet:" in body and "frist " in body
    assert _links(body) == [f"{BASE}/tasks/{new}", f"{BASE}/tasks/{late}"]
    assert other not in body and claimed not in body
    # Nothing beyond the queue's own columns: no summary, citizen name or case reference.
    assert "Jens Hansen" not in body and "carport" not in body and "c_" not in body

    anna = as_user("anna.byg")
    opened = anna.get(urlsplit(f"{BASE}/tasks/{new}").path)
    assert opened.status_code == 200 and 'name="decision"' in opened.text
    with reading(engine) as s:
        assert s.get(SignoffTask, new).status == "awaiting"  # GET shows, never decides
    from starlette.testclient import TestClient

    stranger = TestClient(app).get(f"/tasks/{new}", follow_redirects=False)
    assert stranger.status_code == 303 and "/login?next=%2Ftasks%2F" in stranger.headers[
        "location"]

    # Remembered: the next passes tell nothing twice, and respect every_minutes.
    assert notify_due(engine, base_url=BASE, smtp=settings, force=True).sent == 0
    newer = make_task(engine)
    soon = notify_due(engine, base_url=BASE, smtp=settings,
                      now=datetime.now(UTC) + timedelta(minutes=10))
    assert soon.sent == 0 and len(sink.messages) == 1
    later = notify_due(engine, base_url=BASE, smtp=settings,
                       now=datetime.now(UTC) + timedelta(minutes=31))
    assert later.sent == 1
    assert _links(sink.messages[1][1].get_content()) == [f"{BASE}/tasks/{newer}"]
    with reading(engine) as s:
        told = {(r.task_id, r.event) for r in s.scalars(select(NotificationSent))}
    assert told == {(new, "arrived"), (late, "overdue"), (newer, "arrived")}


def test_team_webhook_gets_a_teams_card_in_danish(engine, webhook):
    received, url = webhook
    subscribe(engine, department="byggeri", webhook_url=url, language="da",
              now=datetime.now(UTC) - timedelta(minutes=1))
    task = make_task(engine)
    assert notify_due(engine, base_url=BASE, smtp=SmtpSettings(host=None)).sent == 1
    [card] = received
    assert card["@type"] == "MessageCard" and card["title"].startswith("Godkendelsesindbakke")
    assert card["text"].startswith("Til Byggeri")
    assert [a["targets"][0]["uri"] for a in card["potentialAction"]] == [f"{BASE}/tasks/{task}"]


def test_a_failed_send_is_tried_again_and_not_marked_sent(engine, smtp):
    sink, settings = smtp
    subscribe(engine, user_id="anna.byg", email="anna@kommune.example",
              now=datetime.now(UTC) - timedelta(minutes=1))
    task = make_task(engine)
    closed = SmtpSettings(host="127.0.0.1", port=_free_port(), timeout_seconds=2)
    failed = notify_due(engine, base_url=BASE, smtp=closed)
    assert (failed.sent, failed.failed) == (0, 1) and "127.0.0.1" in failed.errors[0]
    again = notify_due(engine, base_url=BASE, smtp=settings)
    assert again.sent == 1 and task in sink.messages[0][1].get_content()
    assert sink.messages[0][1]["Subject"] == "Godkendelsesindbakke: 1 ny opgave"


def test_subscription_input_is_checked(engine):
    with pytest.raises(ValueError, match="either a user or a department"):
        subscribe(engine, email="a@b.dk")
    with pytest.raises(ValueError, match="one address"):
        subscribe(engine, user_id="anna.byg", email="a@b.dk, c@d.dk")
    with pytest.raises(ValueError, match="https"):
        subscribe(engine, department="byggeri", webhook_url="http://example.com/hook")
    with pytest.raises(ValueError, match="no inbox user"):
        subscribe(engine, user_id="nobody", email="a@b.dk")


def test_cli_subscribes_and_sends(engine, smtp, monkeypatch):
    from casework.cli import app as cli

    sink, settings = smtp
    monkeypatch.setenv("CASEWORK_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CASEWORK_SMTP_PORT", str(settings.port))
    monkeypatch.setenv("CASEWORK_INBOX_PUBLIC_URL", BASE)
    runner = CliRunner()
    done = runner.invoke(cli, ["inbox", "notify-subscribe", "--user", "anna.byg", "--email",
                               "anna@kommune.example", "--language", "en"])
    assert done.exit_code == 0, done.output
    task = make_task(engine)
    sent = runner.invoke(cli, ["inbox", "notify"])
    assert sent.exit_code == 0 and "digests sent 1" in sent.output
    assert sink.messages[0][1]["Subject"] == "Sign-off inbox: 1 new task"
    assert f"{BASE}/tasks/{task}" in sink.messages[0][1].get_content()
    bad = runner.invoke(cli, ["inbox", "notify-subscribe", "--user", "anna.byg"])
    assert bad.exit_code == 2 and "e-mail address and/or a webhook" in bad.output
