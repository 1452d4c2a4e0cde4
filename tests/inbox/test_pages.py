"""Languages, queue filters and badges, KLE search, and the team lead's oversight page."""

from __future__ import annotations

import re

from inbox_helpers import csrf_of, decide

from casework.inbox.i18n import pick_language


def test_danish_by_default_english_by_header_or_setting(as_user, task_factory):
    task_id = task_factory()
    bo = as_user("bo.byg")  # no language setting
    page = bo.get(f"/tasks/{task_id}")
    assert '<html lang="da">' in page.text and "Godkend" in page.text
    english = as_user("bo.byg", **{"Accept-Language": "en-GB,en;q=0.9,da;q=0.5"})
    page = english.get(f"/tasks/{task_id}")
    assert '<html lang="en">' in page.text and "Approve" in page.text
    karl = as_user("karl.borger", **{"Accept-Language": "da"})  # setting beats header
    assert '<html lang="en">' in karl.get("/queue").text
    # Changing the setting sticks.
    token = csrf_of(bo.get("/queue").text)
    response = bo.post("/language", data={"language": "en", "csrf": token},
                       follow_redirects=False)
    assert response.status_code == 303
    assert "Tasks awaiting sign-off" in bo.get("/queue").text


def test_pick_language():
    assert pick_language(None, None) == "da"
    assert pick_language(None, "fr, en;q=0.5") == "en"
    assert pick_language(None, "en;q=0.2, da;q=0.8") == "da"
    assert pick_language("en", "da") == "en"
    assert pick_language(None, "de") == "da"


def test_every_input_has_a_label(as_user, task_factory):
    task_id = task_factory()
    for page in (as_user("lise.leder").get(f"/tasks/{task_id}"),
                 as_user("lise.leder").get("/queue")):
        ids = re.findall(r'<(?:input|select|textarea)(?![^>]*type="hidden")[^>]*\bid="([^"]+)"',
                         page.text)
        assert ids
        for element_id in ids:
            assert f'for="{element_id}"' in page.text, element_id
        visible = re.findall(r'<(?:input|select|textarea)(?![^>]*type="hidden")[^>]*>', page.text)
        assert all(' id="' in tag for tag in visible)


def test_queue_filters_badges_and_pages(as_user, task_factory):
    for i in range(12):
        task_factory(department="byggeri", summary=f"Byg {i:02d}", deadline_hours=1 + i * 24)
    task_factory(department="teknik-miljo", summary="Skrald", deadline_hours=200,
                 flow="waste")
    lise = as_user("lise.leder")
    page = lise.get("/queue").text
    assert "Byggeri (12)" in page and "Teknik og Miljø (1)" in page  # names, not slugs
    assert "Side 1 / 2" in page and "Byg 00" in page and "Byg 11" not in page
    assert "Byg 11" in lise.get("/queue?page=2").text
    week = lise.get("/queue?due=week").text
    assert "Byg 06" in week and "Byg 07" not in week
    only_waste = lise.get("/queue?flow=waste").text
    assert "Skrald" in only_waste and "Byg 00" not in only_waste
    newest_first_is_not_default = lise.get("/queue?sort=created&department=teknik-miljo").text
    assert "Skrald" in newest_first_is_not_default and "Byg 0" not in newest_first_is_not_default


def test_kle_search_json_and_html(as_user):
    anna = as_user("anna.byg")
    hits = anna.get("/kle/search", params={"q": "02.34"}).json()
    assert [(h["code"], h["how"]) for h in hits][1] == ("02.34.02", "number")
    assert all(h["code"].startswith("02.34") for h in hits)
    by_title = anna.get("/kle/search", params={"q": "byggetilladelse"}).json()
    assert "byggetilladelse" in by_title[0]["title"].lower()
    assert "02.34.02" in [h["code"] for h in by_title[:5]]
    html = anna.get("/kle/search", params={"q": "<b>", "format": "html"})
    assert html.status_code == 200 and "<b>" not in html.text
    assert anna.get("/kle/search", params={"q": ""}).json() == []


def test_kle_search_by_keyword_and_meaning(as_user):
    """No title contains "carport": the shipped keyword list and the suggestion engine find
    building subjects, the building permit among them, and say why each was found."""
    anna = as_user("anna.byg")
    hits = anna.get("/kle/search", params={"q": "carport"}).json()
    codes = [h["code"] for h in hits]
    assert codes[:2] == ["02.00.06", "02.00.20"]  # the two subjects with the keyword
    assert hits[0]["how"] == "keyword" and "carport" in hits[0]["why"]
    assert "02.34.02" in codes  # Byggetilladelse, related to the keyword's subjects
    assert sum(c.startswith("02.") for c in codes) >= len(codes) // 2  # mostly Byggeri
    assert {h["how"] for h in hits} >= {"keyword", "related"}
    assert not any("carport" in h["title"].lower() for h in hits)  # a title search finds none


def test_kle_search_says_when_nothing_is_found(as_user, task_factory):
    anna = as_user("anna.byg")
    assert anna.get("/kle/search", params={"q": "qwxzv"}).json() == []
    html = anna.get("/kle/search", params={"q": "qwxzv", "format": "html"}).text
    assert 'id="kle-nothing"' in html and "Ingen emner fundet" in html
    page = anna.get(f"/tasks/{task_factory()}", params={"kle_q": "qwxzv"}).text
    assert 'id="kle-nothing"' in page
    found = anna.get(f"/tasks/{task_factory()}", params={"kle_q": "carport"}).text
    assert 'value="02.00.06"' in found and "stikord »carport«" in found


def test_kle_engine_loads_once_across_threads(monkeypatch):
    """Concurrent first searches share one engine (the picker must stay fast)."""
    from concurrent.futures import ThreadPoolExecutor

    from casework.inbox import kle
    from casework.suggest import suggester as module

    calls = []
    real = module.TaxonomySuggester.load.__func__

    def counting(cls, *args, **kwargs):
        calls.append(1)
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(kle, "_suggester", {})
    monkeypatch.setattr(module.TaxonomySuggester, "load", classmethod(counting))
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda q: [h.code for h in kle.search(q)],
                                ["carport", "parkering", "hund", "carport"]))
    assert len(calls) == 1 and results[0] == results[3]


def test_oversight_shows_agreement_rate_and_fast_approvals(as_user, task_factory):
    tasks = [task_factory(department="byggeri") for _ in range(4)]
    anna, bo = as_user("anna.byg"), as_user("bo.byg")
    assert decide(anna, tasks[0], "approved").status_code == 303
    assert decide(anna, tasks[1], "approved").status_code == 303
    assert decide(bo, tasks[2], "approved").status_code == 303
    assert decide(bo, tasks[3], "rejected", reason="forkert").status_code == 303
    assert as_user("anna.byg").get("/oversight").status_code == 403
    page = as_user("lise.leder", **{"Accept-Language": "en"}).get("/oversight")
    assert page.status_code == 200
    assert 'data-agreement="0.750"' in page.text
    row = page.text.split('data-agreement="0.750"')[1].split("</tr>")[0]
    assert "3 / 0 / 1" in row
    assert "<td>3</td>" in row  # all three approvals took under 10 s in the test


def test_automation_admins_get_a_link_to_the_prefect_run(engine) -> None:
    """Only an automation admin sees where the task's flow run is in Prefect's UI."""
    from inbox_helpers import login, make_task, settings

    from casework.db.models import InboxUser, InboxUserDepartment, InboxUserRole, SignoffTask
    from casework.db.session import reading, transaction
    from casework.inbox.app import create_app

    with transaction(engine) as s:
        s.add(InboxUser(id="ole.ops", display_name="Ole Drift", language="da", active=True))
        s.add(InboxUserDepartment(user_id="ole.ops", department="byggeri"))
        for role in ("caseworker", "automation_admin"):
            s.add(InboxUserRole(user_id="ole.ops", role=role))
    task_id = make_task(engine)
    with reading(engine) as s:
        run_id = s.get(SignoffTask, task_id).flow_run_id
    app = create_app(settings().model_copy(update={"prefect_ui_url": "https://prefect.test"}),
                     engine=engine)
    admin_page = login(app, "ole.ops").get(f"/tasks/{task_id}").text
    assert f'href="https://prefect.test/runs/flow-run/{run_id}"' in admin_page
    assert "Robottens kørsel i Prefect" in admin_page
    assert "prefect.test" not in login(app, "anna.byg").get(f"/tasks/{task_id}").text


def test_claim_and_release_are_confirmed_and_a_link_confirms_nothing(engine, app) -> None:
    from inbox_helpers import csrf_of, login, make_task

    task_id = make_task(engine)
    anna = login(app, "anna.byg")
    page = anna.get(f"/tasks/{task_id}")
    claimed = anna.post(f"/tasks/{task_id}/claim", data={"csrf": csrf_of(page.text)})
    assert "Du har taget opgaven" in claimed.text and claimed.url.path == f"/tasks/{task_id}"
    released = anna.post(f"/tasks/{task_id}/release", data={"csrf": csrf_of(claimed.text)})
    assert "Opgaven er lagt tilbage i køen" in released.text
    # Typing the confirmation into the address bar claims nothing and confirms nothing.
    forged = anna.get(f"/tasks/{task_id}?done=claimed")
    assert "Du har taget opgaven" not in forged.text
    assert "Alt+Shift+G" in forged.text  # the keyboard shortcuts are named on the page


def test_a_new_robots_policy_titles_name_it_on_the_pages(engine, app) -> None:
    """Any robot — not only the bundled four — is named for people by its policy's titles."""
    from datetime import UTC, datetime

    from inbox_helpers import login, make_task

    from casework.db.models import PolicyVersion
    from casework.db.session import transaction
    from casework.policy.titles import forget

    policy = ("flow: parking_permit\n"
              "title: {da: Parkeringstilladelse, nb: Parkeringstillatelse, "
              "en: Parking permit}\n"
              "steps:\n  check_plate:\n"
              "    title: {da: tjek nummerpladen, nb: sjekk skiltet, en: check the plate}\n"
              "    kind: preparatory\n    mode: autonomous\n    manual_minutes: 3\n")
    with transaction(engine) as s:
        s.add(PolicyVersion(hash="t" * 64, flow="parking_permit", path="parking_permit.yaml",
                            content=policy, first_seen_at=datetime.now(UTC)))
    forget()
    task_id = make_task(engine, flow="parking_permit", step="check_plate")
    page = login(app, "anna.byg").get(f"/tasks/{task_id}").text
    assert "Parkeringstilladelse: tjek nummerpladen" in page
    assert "check_plate" not in page and "parking_permit" not in page
