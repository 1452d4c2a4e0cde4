"""The legacy web robot in a real headless Chromium against the stand-in on loopback."""

from __future__ import annotations

import os
import stat
from datetime import date, timedelta
from pathlib import Path

import httpx
import legacy_fixtures
import pytest
from legacy_fixtures import LegacyStandIn

from casework.privacy import pseudonymise
from connectors.browser import BROWSER_PATH_ENV, BrowserNotFoundError, find_browser_executable
from connectors.legacy_web import (
    CaseNotFoundError,
    CaseStepForm,
    LegacyCaseSystemRobot,
    LegacyLoginError,
    LegacyTransientError,
    StepType,
    StepValidationError,
)
from standins.legacy_web import create_app
from standins.server import serving

# The module's fixtures: one Chromium for the module, a fresh stand-in and robot per test.
browser = legacy_fixtures.browser
standin = legacy_fixtures.standin
robot_factory = legacy_fixtures.robot_factory
robot = legacy_fixtures.robot

CASE = "2024-001203"  # Mikkel Sørensen, Anmodning om boligstøtte
CPR, NAME = "030391-2317", "Mikkel Sørensen"


def note(text: str = "Telefonsamtale med borger om manglende lønsedler.") -> CaseStepForm:
    return CaseStepForm(step_type=StepType.JOURNAL_NOTE, step_date=date.today(), note=text)


def test_login_search_and_read_a_case(robot: LegacyCaseSystemRobot) -> None:
    robot.login()
    by_cpr = robot.search_case("120467-1482")
    assert [c.case_number for c in by_cpr] == ["2024-001187", "2024-001266"]
    assert {c.citizen_name for c in by_cpr} == {"Karen Holm Madsen"}
    assert [c.title for c in robot.search_case(CASE)] == ["Anmodning om boligstøtte"]
    assert robot.search_case("0303912318") == []

    case = robot.read_case(CASE)
    assert (case.title, case.citizen_name, case.cpr) == ("Anmodning om boligstøtte", NAME, CPR)
    assert (case.status, case.responsible_unit, case.journal_number) == (
        "Afventer borger", "Borgerservice", "03.22.04-G01")
    assert (case.created, case.deadline) == (date(2024, 3, 6), date(2024, 4, 15))
    assert [s.receipt_number for s in case.steps] == ["KV-2024-004502", "KV-2024-005120"]
    assert case.steps[1].step_type == "Anmodning om oplysninger"
    # Names and CPR numbers stay out of repr, so out of logs and tracebacks.
    assert CPR not in repr(case) and NAME not in repr(case) and case.cpr_masked == "XXXXXX-XXXX"


def test_search_refuses_a_query_that_is_neither_case_number_nor_cpr(robot) -> None:
    with pytest.raises(ValueError, match="case number .* or a CPR number"):
        robot.search_case("Mikkel")


def test_register_a_step_and_the_system_shows_it(robot, standin: LegacyStandIn) -> None:
    receipt = robot.register_step(CASE, note())
    assert receipt.receipt_number.startswith("KV-") and not receipt.recovered
    stored = standin.case(CASE)["steps"]
    assert len(stored) == 3
    assert stored[-1]["receipt_number"] == receipt.receipt_number
    assert stored[-1]["note"] == note().note and stored[-1]["registered_by"] == "sagsrobot"
    assert robot.read_case(CASE).steps[-1].receipt_number == receipt.receipt_number


def test_wrong_password_is_a_clear_error_with_a_private_screenshot(robot_factory,
                                                                   casework_env: Path) -> None:
    robot = robot_factory(password="forkert")
    with pytest.raises(LegacyLoginError, match="refused the login of user 'sagsrobot'") as info:
        robot.read_case(CASE)
    shot = info.value.screenshot
    assert shot is not None and shot.is_relative_to(casework_env)
    assert shot.read_bytes().startswith(b"\x89PNG")
    assert stat.S_IMODE(os.stat(shot).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(shot.parent).st_mode) == 0o700


@pytest.mark.parametrize(("case_number", "form", "field", "text"), [
    (CASE, CaseStepForm(step_type=StepType.HEARING, step_date=date(2024, 1, 2), note="Høring"),
     "step_date", "før sagens oprettelse"),
    ("2023-009812", CaseStepForm(step_type=StepType.DECISION, step_date=date(2024, 1, 2),
                                 note="Afgørelse"), "step_type", "Sagen er afsluttet"),
])
def test_a_refused_form_names_the_field_and_registers_nothing(
        robot, standin: LegacyStandIn, case_number: str, form: CaseStepForm, field: str,
        text: str) -> None:
    before = standin.case(case_number)["steps"]
    with pytest.raises(StepValidationError, match=f"field '{field}'.*{text}") as info:
        robot.register_step(case_number, form)
    assert info.value.field == field and info.value.screenshot is not None
    assert standin.case(case_number)["steps"] == before


def test_unknown_case_is_a_clear_error_without_the_case_number(robot) -> None:
    with pytest.raises(CaseNotFoundError) as info:
        robot.read_case("2099-000001")
    assert pseudonymise("2099-000001") in str(info.value) and "2099-000001" not in str(info.value)


def test_503_twice_then_success(robot, standin: LegacyStandIn, caplog) -> None:
    standin.fault(path="/sag/*", kind="status", status=503, count=2)
    assert robot.read_case(CASE).title == "Anmodning om boligstøtte"
    assert standin.pending_faults() == []
    assert sum("HTTP 503" in r.getMessage() for r in caplog.records) == 2


def test_503_on_every_try_gives_up_with_a_transient_error(robot, standin) -> None:
    standin.fault(path="/sag/*", kind="status", status=503, count=10)
    with pytest.raises(LegacyTransientError, match="HTTP 503") as info:
        robot.read_case(CASE)
    assert info.value.screenshot is not None
    assert len(standin.pending_faults()) == 1  # 4 attempts used, 6 left


def test_slow_page_beyond_the_timeout_then_success(robot_factory, standin) -> None:
    robot = robot_factory(timeout_seconds=1.0)
    robot.login()
    standin.fault(path="/sag/*", kind="delay", delay_seconds=1.6)
    assert robot.read_case(CASE).status == "Afventer borger"
    assert standin.pending_faults() == []


def test_dropped_connections_then_success(robot, standin) -> None:
    standin.fault(path="/soeg", kind="drop", count=2)
    assert [c.case_number for c in robot.search_case(CASE)] == [CASE]
    assert standin.pending_faults() == []


def test_503_on_sending_the_form_then_registered_once(robot, standin) -> None:
    standin.fault(path="/sag/*/skridt", method="POST", kind="status", status=503)
    receipt = robot.register_step(CASE, note())
    steps = standin.case(CASE)["steps"]
    assert [s["receipt_number"] for s in steps].count(receipt.receipt_number) == 1
    assert len(steps) == 3


def test_answer_lost_after_registration_is_not_registered_twice(robot, standin) -> None:
    standin.fault(path="/sag/*/skridt", method="POST", kind="drop_after")
    receipt = robot.register_step(CASE, note())
    steps = standin.case(CASE)["steps"]
    assert len(steps) == 3, "the step is stored once although its confirmation was lost"
    assert receipt.recovered and receipt.receipt_number == steps[-1]["receipt_number"]


def test_a_step_registered_earlier_with_the_same_text_is_not_taken_for_ours(robot,
                                                                           standin) -> None:
    first = robot.register_step(CASE, note())
    standin.fault(path="/sag/*/skridt", method="POST", kind="status", status=503)
    second = robot.register_step(CASE, note())
    assert first.receipt_number != second.receipt_number and not second.recovered
    assert len(standin.case(CASE)["steps"]) == 4


def test_expired_session_logs_in_again(robot, standin) -> None:
    robot.login()
    assert standin.expire_sessions() == 1
    assert robot.read_case(CASE).journal_number == "03.22.04-G01"
    standin.expire_sessions()
    assert robot.register_step(CASE, note()).receipt_number


def test_failure_screenshot_is_a_prefect_artifact_without_personal_data(
        prefect_api: str, robot, standin) -> None:
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )
    from prefect.runtime import flow_run

    from connectors.legacy_web.evidence import ARTIFACT_KEY

    @flow(name="legacy-web-failure-test")
    def register_refused() -> str:
        with pytest.raises(StepValidationError):
            robot.register_step(CASE, CaseStepForm(
                step_type=StepType.HEARING, step_date=date.today() - timedelta(days=4000),
                note=f"Borger {NAME} ({CPR}) partshørt."))
        return str(flow_run.get_id())

    run_id = register_refused()
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=[ARTIFACT_KEY]),
            flow_run_id=ArtifactFilterFlowRunId(any_=[run_id])))
    assert len(artifacts) == 1
    artifact = artifacts[0]
    assert artifact.type == "image" and str(artifact.data).startswith("data:image/png;base64,")
    description = artifact.description or ""
    assert "register_step" in description and "step_date" in description
    assert pseudonymise(CASE) in description
    for secret in (CASE, CPR, NAME, "0303912317"):
        assert secret not in description


def test_the_stand_in_keeps_its_cases_in_a_sqlite_file(tmp_path: Path) -> None:
    db = str(tmp_path / "legacy.db")
    with serving(create_app(db, users={"a": "b"})) as server:
        client = httpx.Client(base_url=server.url, follow_redirects=True)
        client.post("/login", data={"brugernavn": "a", "adgangskode": "b"})
        form = client.get(f"/sag/{CASE}/skridt/ny").text
        key = form.split('name="formularnoegle" value="')[1].split('"')[0]
        done = client.post(f"/sag/{CASE}/skridt", data={
            "skridttype": "Journalnotat", "dato": date.today().strftime("%d-%m-%Y"),
            "notat": "Notat", "formularnoegle": key})
        assert "Kvitteringsnummer" in done.text
        # The same form cannot be sent twice.
        again = client.post(f"/sag/{CASE}/skridt", data={
            "skridttype": "Journalnotat", "dato": date.today().strftime("%d-%m-%Y"),
            "notat": "Notat", "formularnoegle": key})
        assert again.status_code == 400
    with serving(create_app(db)) as server:
        assert len(httpx.get(f"{server.url}/_state/cases/{CASE}").json()["steps"]) == 3


def test_a_browser_path_that_does_not_exist_is_a_clear_error(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(BROWSER_PATH_ENV, str(tmp_path / "chromium"))
    with pytest.raises(BrowserNotFoundError, match="apt-get install chromium"):
        find_browser_executable()


@pytest.mark.parametrize("page_path", [f"/sag/{CASE}", f"/soeg?q={CPR}"])
def test_screenshot_masks_cover_every_name_cpr_and_case_number(robot, page_path: str) -> None:
    """Every visible text naming the citizen or the case lies inside a masked element."""
    from connectors.legacy_web.selectors import PERSONAL_DATA

    robot.login()
    robot.page.goto(robot.base_url + page_path)
    for selector in PERSONAL_DATA:  # Playwright selectors, as the screenshot mask uses them
        robot.page.locator(selector).evaluate_all(
            "els => els.forEach(e => e.setAttribute('data-masked', ''))")
    uncovered = robot.page.evaluate(
        """(secrets) => {
            const masked = Array.from(document.querySelectorAll('[data-masked]'));
            const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
            const found = [];
            for (let n = walker.nextNode(); n; n = walker.nextNode()) {
                if (secrets.some(s => n.textContent.includes(s))
                    && !masked.some(m => m.contains(n.parentElement))) found.push(n.textContent);
            }
            for (const input of document.querySelectorAll('input')) {
                if (secrets.some(s => input.value.includes(s))
                    && !masked.some(m => m.contains(input))) found.push(input.value);
            }
            return found;
        }""", [CPR, NAME, CASE])
    assert uncovered == []
