"""Department and role scope on every page and action, and shadow tasks that give nothing
away: the explanation page, review requests, ``signoff_by.departments``."""

from __future__ import annotations

from inbox_helpers import csrf_of, decide, make_task, new_case_ref
from sqlalchemy import func, select, update

from casework.db.models import SignoffTask
from casework.db.session import reading, transaction

SECRET = {"kle": "00.01.00", "title": "HEMMELIGT-EMNE", "confidence": 0.5, "why": [],
          "alternatives": []}


def _two_departments(engine, as_user):
    """One case, a byggeri task and a teknik-miljo task decided with a telling reason."""
    case_ref = new_case_ref()
    ours = make_task(engine, case_ref=case_ref, step="classify",
                     roles=["caseworker", "manager"])
    theirs = make_task(engine, case_ref=case_ref, step="noise_check", department="teknik-miljo",
                       suggestion=SECRET, flow="miljo")
    done = decide(as_user("tina.teknik"), theirs, "rejected", reason="NABOENS-KLAGE")
    assert done.status_code == 303
    return ours, theirs


def _review_tasks(engine) -> int:
    with reading(engine) as s:
        return s.scalar(select(func.count()).select_from(SignoffTask)
                        .where(SignoffTask.kind == "review"))


def test_explanation_shows_only_the_departments_steps(engine, as_user):
    ours, _ = _two_departments(engine, as_user)
    page = as_user("anna.byg").get(f"/tasks/{ours}/explanation")
    assert page.status_code == 200 and "classify" in page.text
    for leak in ("HEMMELIGT-EMNE", "NABOENS-KLAGE", "Tina Teknik", "noise_check"):
        assert leak not in page.text  # defect 4
    # The citizen's full explanation: a manager (or the CLI) reads every department's steps.
    full = as_user("mette.chef").get(f"/tasks/{ours}/explanation")
    assert "HEMMELIGT-EMNE" in full.text and "noise_check" in full.text


def test_review_request_cannot_target_another_departments_step(engine, as_user):
    ours, _ = _two_departments(engine, as_user)
    anna = as_user("anna.byg")
    csrf = csrf_of(anna.get(f"/tasks/{ours}/explanation").text)
    for step in ("noise_check", ""):  # another department's step, or the whole case
        response = anna.post(f"/tasks/{ours}/review-request", data={
            "csrf": csrf, "reason": "uenig", "requested_via": "phone", "step": step})
        assert response.status_code == 403
    assert _review_tasks(engine) == 0
    ok = anna.post(f"/tasks/{ours}/review-request", data={
        "csrf": csrf, "reason": "uenig", "requested_via": "phone", "step": "classify"})
    assert ok.status_code == 200 and _review_tasks(engine) == 1


def test_signoff_by_departments_decides_who_sees_and_decides(engine, as_user):
    # The case is byggeri's, but the policy says teknik-miljo signs this step off.
    task_id = make_task(engine, department="byggeri")
    with transaction(engine) as s:
        s.execute(update(SignoffTask).where(SignoffTask.id == task_id)
                  .values(signoff_departments=["teknik-miljo"]))
    anna = as_user("anna.byg")
    assert anna.get(f"/tasks/{task_id}").status_code == 404
    assert task_id not in anna.get("/queue").text
    assert anna.get(f"/tasks/{task_id}/explanation").status_code == 404
    tina = as_user("tina.teknik")
    assert task_id in tina.get("/queue").text
    assert decide(tina, task_id, "approved").status_code == 303


def test_shadow_task_gives_nothing_of_the_robots_answer_away(engine, as_user):
    task_id = make_task(engine, suggestion={**SECRET, "kle": "02.34.02"})
    with transaction(engine) as s:
        s.execute(update(SignoffTask).where(SignoffTask.id == task_id).values(kind="shadow"))
    anna = as_user("anna.byg")
    pages = [anna.get(f"/tasks/{task_id}"), anna.get(f"/tasks/{task_id}/explanation"),
             anna.get(f"/tasks/{task_id}/explanation?lang=en"), anna.get("/queue"),
             anna.get(f"/tasks/{task_id}?kle_q=byggetilladelse")]
    for page in pages:
        assert page.status_code == 200
        assert "HEMMELIGT-EMNE" not in page.text  # defect 3
        assert "Robotten foreslog:" not in page.text and "The robot suggested:" not in page.text
    assert decide(anna, task_id, "answer", kle_code="02.34.02").status_code == 303
    after = anna.get(f"/tasks/{task_id}/explanation")
    assert "HEMMELIGT-EMNE" in after.text  # once answered, the comparison may be shown
