"""The automation admin's stop switch page, and overdue badges in the queue."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from inbox_helpers import csrf_of, make_task
from sqlalchemy import select, update

from casework.db.models import AuditEvent, SignoffTask
from casework.db.session import reading, transaction
from casework.oversight.stop_switch import stop_reason
from casework.signoff.escalation import escalate_overdue

REPO = Path(__file__).resolve().parents[2]


def test_admin_stops_and_restarts_a_flow(as_user, engine):
    admin = as_user("admin", **{"Accept-Language": "en"})
    page = admin.get("/admin/flows")
    assert page.status_code == 200 and "journal_placement" in page.text  # from policies/
    response = admin.post("/admin/flows/journal_placement", follow_redirects=False, data={
        "csrf": csrf_of(page.text), "stopped": "true", "reason": "<b>wrong codes</b>"})
    assert response.status_code == 303
    assert stop_reason("journal_placement", engine).endswith("<b>wrong codes</b>")
    page = admin.get("/admin/flows")
    assert "&lt;b&gt;wrong codes&lt;/b&gt;" in page.text and "Stopped" in page.text

    admin.post("/admin/flows/journal_placement", data={"csrf": csrf_of(page.text),
                                                        "stopped": "false"})
    assert stop_reason("journal_placement", engine) is None
    with reading(engine) as s:
        events = s.execute(select(AuditEvent.actor, AuditEvent.action)
                           .where(AuditEvent.action.like("flow.%"))).all()
    assert events == [("admin", "flow.stopped"), ("admin", "flow.restarted")]


def test_stopping_needs_a_reason_and_a_csrf_token(as_user, engine):
    admin = as_user("admin")
    page = admin.get("/admin/flows")
    no_reason = admin.post("/admin/flows/journal_placement",
                           data={"csrf": csrf_of(page.text), "stopped": "true", "reason": " "})
    assert no_reason.status_code == 400
    no_csrf = admin.post("/admin/flows/journal_placement",
                         data={"stopped": "true", "reason": "x"})
    assert no_csrf.status_code == 403
    assert stop_reason("journal_placement", engine) is None


def test_only_automation_admins_may_switch(as_user, engine):
    lead = as_user("lise.leder")
    assert lead.get("/admin/flows").status_code == 403
    page = lead.get("/queue")
    response = lead.post("/admin/flows/journal_placement", data={
        "csrf": csrf_of(page.text), "stopped": "true", "reason": "x"})
    assert response.status_code == 403
    assert stop_reason("journal_placement", engine) is None
    assert "/admin/flows" not in page.text


def test_queue_marks_overdue_tasks_that_were_reminded(as_user, task_factory, engine):
    task_id = task_factory(now=datetime.now(UTC) - timedelta(days=3), deadline_hours=24)
    with transaction(engine) as s:
        s.execute(update(SignoffTask).where(SignoffTask.id == task_id)
                  .values(on_overdue="remind"))
    assert escalate_overdue(engine).reminded == 1
    page = as_user("bo.byg", **{"Accept-Language": "en"}).get("/queue?due=overdue")
    assert f"/tasks/{task_id}" in page.text and "Deadline passed; reminder sent" in page.text


def test_team_lead_sees_each_steps_earned_autonomy(as_user, engine):
    from casework.db.models import AutonomyState

    now = datetime.now(UTC)
    with transaction(engine) as s:
        s.add(AutonomyState(flow="journal_placement", step="suggest_journal", earned=True,
                            decisions=200, kept=193, min_agreement=0.95, window=200,
                            changed_at=now, measured_at=now))
    page = as_user("lise.leder", **{"Accept-Language": "en"}).get("/oversight")
    assert page.status_code == 200
    row = page.text.split('data-step="journal_placement.suggest_journal"')[1].split("</tr>")[0]
    assert 'data-earned="yes"' in row
    assert "96,5\u00a0%" in row and "193 / 200" in row and "95,0\u00a0% / 200" in row


@pytest.mark.parametrize("lang", ["en", "da", "nb"])
def test_team_lead_sees_accuracy_at_the_policys_confidence_threshold(as_user, engine, lang):
    """From the policy in force (confidence < 0.8): of the judged suggestions at or above 80 %,
    3 of 4 kept; below, 1 of 2; in each language, with no policy syntax on the page."""
    from test_languages import problems

    from casework.db.models import PolicyVersion

    text = (REPO / "policies" / "journal_placement.yaml").read_text(encoding="utf-8")
    with transaction(engine) as s:
        s.add(PolicyVersion(hash="j" * 64, flow="journal_placement",
                            path="policies/journal_placement.yaml", content=text,
                            first_seen_at=datetime.now(UTC)))
    judged = [(0.9, "approved"), (0.85, "approved"), (0.97, "amended"), (0.8, "approved"),
              (0.5, "approved"), (0.3, "rejected")]
    for n, (confidence, decision) in enumerate(judged):
        task_id = make_task(engine, flow="journal_placement", step="suggest_journal",
                            suggestion={"kle": "02.34.02", "title": "Byggetilladelse",
                                        "confidence": confidence})
        with transaction(engine) as s:
            s.execute(update(SignoffTask).where(SignoffTask.id == task_id).values(
                status="decided", decision=decision, decided_by="anna.byg",
                decided_at=datetime.now(UTC) - timedelta(minutes=n)))
    lise = as_user("lise.leder")
    lise.post("/language", data={"language": lang, "csrf": csrf_of(lise.get("/queue").text)})
    page = lise.get("/oversight")
    assert page.status_code == 200 and f'<html lang="{lang}">' in page.text
    table = page.text.split('id="threshold-accuracy"')[1].split("</table>")[0]
    row = table.split('data-step="journal_placement.suggest_journal"')[1].split("</tr>")[0]
    cells = [re.sub(r"[ \n]+", " ", c).strip()
             for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
    of, comma = {"en": ("of", "."), "da": ("af", ","), "nb": ("av", ",")}[lang]
    assert cells[2:] == ["80\u00a0%", f"75{comma}0\u00a0% (3 {of} 4)",
                         f"50{comma}0\u00a0% (1 {of} 2)", "200"]
    assert problems(page.text, lang) == []
