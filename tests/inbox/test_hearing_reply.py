"""Registering the party's reply to a hearing letter from the letter's task page."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from inbox_helpers import csrf_of
from sqlalchemy import Engine, select

from casework.db.models import AuditEvent, PartyHearing, SignoffTask
from casework.db.session import reading, transaction


def sent_hearing(engine: Engine, task_factory) -> tuple[str, str]:
    task_id = task_factory(flow="permits", step="party_hearing",
                           suggestion={"text": "Vi har oplysninger om gæld.", "facts": []})
    now = datetime.now(UTC)
    with transaction(engine) as s:
        task = s.get(SignoffTask, task_id)
        hearing = PartyHearing(
            id=str(uuid.uuid4()), case_ref=task.case_ref, flow="permits",
            decision_step="decide_permit", signoff_task_id=task_id, status="sent",
            reply_days=14, letter_sha256="0" * 64, created_at=now, sent_at=now,
            reply_deadline=now + timedelta(days=14))
        s.add(hearing)
    return task_id, hearing.id


def test_caseworker_registers_the_reply_on_the_letter_task(engine, as_user, task_factory
                                                            ) -> None:
    task_id, hearing_id = sent_hearing(engine, task_factory)
    anna = as_user("anna.byg")
    page = anna.get(f"/tasks/{task_id}")
    assert "Registrér partens svar" in page.text and "Svarfrist" in page.text

    refused = anna.post(f"/tasks/{task_id}/hearing-reply", data={"csrf": "wrong"})
    assert refused.status_code == 403
    other = as_user("karl.borger")
    hidden = other.post(f"/tasks/{task_id}/hearing-reply",
                        data={"csrf": csrf_of(other.get("/queue").text)})
    assert hidden.status_code == 404  # another department's case

    saved = anna.post(f"/tasks/{task_id}/hearing-reply",
                      data={"csrf": csrf_of(page.text), "note": "Borgeren bestrider gælden"})
    assert saved.status_code == 200 and "Partens svar er registreret" in saved.text
    assert "Svar registreret" in saved.text and "Anna Byggesag" in saved.text
    with reading(engine) as s:
        hearing = s.get(PartyHearing, hearing_id)
        actions = s.scalars(select(AuditEvent.action)).all()
    assert (hearing.reply_registered_by, hearing.reply_note) == ("anna.byg",
                                                                 "Borgeren bestrider gælden")
    assert "hearing.reply_registered" in actions

    again = anna.post(f"/tasks/{task_id}/hearing-reply", data={"csrf": csrf_of(page.text)})
    assert again.status_code == 409
    assert "already registered by anna.byg" in again.text


def test_an_ordinary_task_has_no_reply_form(as_user, task_factory) -> None:
    task_id = task_factory()
    anna = as_user("anna.byg")
    page = anna.get(f"/tasks/{task_id}")
    assert "Registrér partens svar" not in page.text
    posted = anna.post(f"/tasks/{task_id}/hearing-reply", data={"csrf": csrf_of(page.text)})
    assert posted.status_code == 404
