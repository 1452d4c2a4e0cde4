"""The inbox's explanation page and the form that registers a citizen's review request."""

from __future__ import annotations

import re

from inbox_helpers import csrf_of, decide

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
    assert "Trin 1: classify" in da.text and "Ingen endnu. Trinnet venter" in da.text
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
