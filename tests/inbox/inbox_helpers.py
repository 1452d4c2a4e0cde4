"""Helpers for the inbox tests: log in, create tasks, decide."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine
from starlette.testclient import TestClient

from casework.db.models import LedgerEntry
from casework.db.session import transaction
from casework.inbox.settings import InboxSettings
from casework.signoff.tasks import create_signoff_task

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')
VIEW = re.compile(r'name="view_id" value="(\d+)"')


def settings() -> InboxSettings:
    return InboxSettings(dev_login=True, secret_key="test-secret", cookie_secure=False,
                         page_size=10, queue_counts_seconds=0)


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token on page"
    return match.group(1)


def login(app: FastAPI, user_id: str, **headers: str) -> TestClient:
    client = TestClient(app, headers=headers or None)
    page = client.get("/login")
    assert page.status_code == 200
    response = client.post("/login", data={"user_id": user_id, "csrf": csrf_of(page.text)},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


def new_case_ref() -> str:
    return "c_" + uuid.uuid4().hex[:24]


def make_task(engine: Engine, *, department: str = "byggeri", roles: list[str] | None = None,
              case_ref: str | None = None, summary: str = "Ansøgning om carport",
              suggestion: Any = None, four_eyes: bool = False, deadline_hours: float = 48,
              baseline: float = 10.0, flow: str = "journal", step: str = "classify",
              now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    ledger_id = str(uuid.uuid4())
    case_ref = case_ref or new_case_ref()
    if suggestion is None:
        suggestion = {"kle": "02.34.02", "title": "Byggetilladelse", "confidence": 0.62,
                      "why": ["carport", "byggetilladelse"],
                      "alternatives": [{"code": "02.00.05", "title": "Andet", "score": 0.2}]}
    with transaction(engine) as s:
        s.add(LedgerEntry(
            id=ledger_id, flow=flow, flow_run_id=str(uuid.uuid4()), step=step,
            step_kind="preparatory", case_ref=case_ref, policy_hash="p" * 64, mode="signoff",
            outcome="awaiting_signoff", robot_seconds=1.0, human_seconds=0.0,
            baseline_minutes=baseline, saved_minutes=0.0, department=department, reasons=[],
            started_at=now - timedelta(seconds=2), finished_at=now))
        s.flush()
        task = create_signoff_task(
            s, ledger_entry_id=ledger_id, flow=flow, flow_run_id=str(uuid.uuid4()), step=step,
            case_ref=case_ref, department=department, roles=roles or ["caseworker"],
            departments=[department], suggestion=suggestion, reasons=["confidence < 0.8"],
            case_summary=summary, deadline_hours=deadline_hours, policy_hash="p" * 64, now=now)
        task.four_eyes = four_eyes
    return ledger_id


def decide(client: TestClient, task_id: str, decision: str, *, reason: str = "",
           version: int | None = None, csrf: str | None = None, **extra: str):
    page = client.get(f"/tasks/{task_id}")
    data = {"decision": decision, "reason": reason,
            "csrf": csrf if csrf is not None else csrf_of(page.text),
            "version": str(version if version is not None else VERSION.search(page.text)
                           .group(1)), **extra}
    return client.post(f"/tasks/{task_id}/decide", data=data, follow_redirects=False)
