"""The inbox's explanation page and the form that registers a citizen's review request."""

from __future__ import annotations

import re

from inbox_helpers import csrf_of, decide, make_task

ASSIGNED = re.compile(r"givet til ([^.<]+)\.")


def test_task_page_links_to_the_explanation_in_three_languages(as_user, task_factory) -> None:
    task_id = task_factory()
    anna = as_user("anna.byg")
    page = anna.get(f"/tasks/{task_id}")
    assert f'href="/tasks/{task_id}/explanation"' in page.text
    assert "Forklaring til borgeren" in page.text

    da = anna.get(f"/tasks/{task_id}/explanation")
    assert da.status_code == 200
    assert "Sådan er din sag behandlet med automatisering" in da.text
    assert "Trin 1 (" in da.text and "Ingen endnu. Trinnet venter" in da.text
    letter = da.text.split('id="explanation">', 1)[1].split("</article>", 1)[0]
    assert "classify" not in letter  # a step without a title is named by its number
    nb = anna.get(f"/tasks/{task_id}/explanation?lang=nb")
    assert "Slik er saken din behandlet" in nb.text and "(teksten er ikke lagret)" in nb.text
    en = anna.get(f"/tasks/{task_id}/explanation?lang=en")
    assert "How automation was used in your case" in en.text

    other = as_user("karl.borger").get(f"/tasks/{task_id}/explanation")
    assert other.status_code == 404  # another department's case tells nothing


def test_registered_review_goes_to_someone_else_and_refuses_the_decider(as_user, task_factory
                                                                        ) -> None:
    task_id = task_factory()
    anna, lise, bo = as_user("anna.byg"), as_user("lise.leder"), as_user("bo.byg")
    done = decide(anna, task_id, "amended", reason="forkert emne", kle_code="02.00.05")
    assert done.status_code == 303, done.text

    page = lise.get(f"/tasks/{task_id}/explanation")
    assert "Sagsbehandler Anna Byggesag rettede forslaget" in page.text
    sent = lise.post(f"/tasks/{task_id}/review-request", data={
        "csrf": csrf_of(page.text), "reason": "Borgeren mener emnet er forkert",
        "requested_via": "phone", "step": "classify"})
    assert sent.status_code == 200, sent.text
    assert ASSIGNED.search(sent.text).group(1) == "Bo Byggesag"

    queue = bo.get("/queue").text
    review_id = next(tid for tid in re.findall(r'href="/tasks/([0-9a-f-]{36})"', queue)
                     if tid != task_id)
    review_page = bo.get(f"/tasks/{review_id}")
    assert "Menneskelig prøvelse efter borgerens anmodning" in review_page.text
    assert "Borgeren mener emnet er forkert" in review_page.text

    # The task is claimed by Bo, so Anna sees no form; a forged post is refused server-side.
    refused = decide(anna, review_id, "approved", version=1)
    assert refused.status_code == 403
    assert "Du har været med i sagen og må derfor ikke prøve den" in refused.text
    kept = decide(bo, review_id, "approved")
    assert kept.status_code == 303


def test_a_review_request_needs_a_channel_and_a_reason(as_user, task_factory) -> None:
    task_id = task_factory()
    anna = as_user("anna.byg")
    page = anna.get(f"/tasks/{task_id}/explanation")
    for data in ({"reason": "", "requested_via": "letter"},
                 {"reason": "uenig", "requested_via": "pigeon"}):
        bad = anna.post(f"/tasks/{task_id}/review-request",
                        data={"csrf": csrf_of(page.text), **data})
        assert bad.status_code == 400 and "kunne ikke registreres" in bad.text
    no_csrf = anna.post(f"/tasks/{task_id}/review-request",
                        data={"reason": "uenig", "requested_via": "letter"})
    assert no_csrf.status_code == 403


def test_citizen_explanation_is_plain_with_the_real_case_number_and_prints(as_user, engine):
    """No field names, true/false or step identifiers; the case number the case system shows
    instead of the pseudonym; a print stylesheet that leaves only the letter."""
    from sqlalchemy import update

    from casework.case import Evidence
    from casework.db.models import SignoffTask
    from casework.db.session import transaction
    from casework.inbox.present import Present

    task_id = make_task(engine, flow="intake", step="identify_citizen", suggestion={
        "method": "cpr", "confidence": 0.9, "citizen_known": True, "why": ["cpr"]})
    with transaction(engine) as s:
        task = s.get(SignoffTask, task_id)
        case_ref = task.case_ref
        s.execute(update(SignoffTask).where(SignoffTask.id == task_id).values(payload={
            **task.payload, "evidence": Evidence(case_number="SAG-2026-0042").model_dump(
                mode="json")}))
    anna = as_user("anna.byg")
    for lang in ("da", "nb", "en"):
        page = anna.get(f"/tasks/{task_id}/explanation?lang={lang}").text
        letter = page.split('id="explanation">', 1)[1].split("</article>", 1)[0]
        title = Present(lang).step("intake", "identify_citizen")
        assert f": {title[0].upper()}{title[1:]} (" in letter, lang
        assert "SAG-2026-0042" in letter and case_ref not in letter
        for raw in ("citizen_known", "True", "identify_citizen", "identify citizen", "cpr:"):
            assert raw not in letter, (lang, raw)
        assert "@media print" in page and 'class="no-print"' in page
    da = anna.get(f"/tasks/{task_id}/explanation").text
    assert "Sagsnummer: SAG-2026-0042" in da
    assert f"{Present('da').fact_label('citizen_known')}: ja" in da
