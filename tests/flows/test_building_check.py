"""Building screening checks the application against BBR: the rules on their own, then end to
end with the case-system and Datafordeleren (DAR + BBR) stand-ins on loopback, a real Prefect
API and a real SQLite ledger. Without BBR configured the check is skipped and the task says so."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from screening_fixtures import case_server, cases  # noqa: F401  (fixtures)
from sqlalchemy import select

from casework.db.models import ItemStep, LedgerEntry, SignoffTask
from casework.db.session import reading
from casework.inbox.present import Present
from casework.items import queue
from casework.items.states import ItemState
from casework.settings import reset_settings_cache
from connectors.case_system import CaseSystemClient, NewCase
from flows.building_check import (
    RegisteredBuilding,
    conflicts,
    property_address,
    property_addresses,
)
from standins import bbr
from standins.server import LoopbackServer, serving

CONFLICT_REASON = "signoff_when: result.conflicts"
ADDRESS_REASON = ("signoff_when: result.building_registry in "
                  "['no_address', 'address_not_found', 'address_ambiguous']")


def house(code: str, text: str, area: int | None = None, year: int | None = None,
          ) -> RegisteredBuilding:
    return RegisteredBuilding(title=text, use_code=code, use_text=text, area_m2=area,
                              year_built=year)


HOUSE = house("120", "Fritliggende enfamiliehus", 142, 1978)
OFFICE = house("320", "Kontor, handel, lager", 860, 1991)
CARPORT = house("920", "Carport", 18, 2004)
FLATS = house("140", "Etagebolig", 1240, 1962)


# -- the rules ---------------------------------------------------------------------------------

def test_a_carport_fits_a_house_and_not_an_office_building() -> None:
    assert conflicts("secondary_building", ["Carport, Ågade 12"], [HOUSE]) == []
    [office] = conflicts("secondary_building", ["Carport, Industrivej 5"], [OFFICE])
    assert (office.rule, office.applied_for, office.registered) == (
        "no_dwelling", "carport", ["Kontor, handel, lager"])
    assert "kun registreret som: Kontor, handel, lager" in office.title


def test_a_second_carport_and_a_house_of_another_kind_are_named() -> None:
    [again] = conflicts("secondary_building", ["Ny carport"], [HOUSE, CARPORT])
    assert (again.rule, again.area_m2, again.year_built) == ("already_registered", 18, 2004)
    assert conflicts("secondary_building", ["Garage"], [HOUSE, CARPORT]) == []
    [flats] = conflicts("extension", ["Tilbygning til enfamiliehus, Lyngbakken 3"], [FLATS])
    assert (flats.rule, flats.applied_for, flats.registered) == (
        "house_type_differs", "enfamiliehus", ["Etagebolig"])
    [nothing] = conflicts("extension", ["Tilbygning"], [])
    assert nothing.rule == "nothing_registered"
    # a carport on an empty plot, or a new house, contradicts nothing
    assert conflicts("secondary_building", ["Carport"], []) == []
    assert conflicts("new_house", ["Nyt enfamiliehus"], [OFFICE]) == []
    # the kind asked for is the first named: a carport with a shed is a carport
    assert conflicts("secondary_building", ["Carport og redskabsrum"],
                     [HOUSE, house("930", "Udhus", 12)]) == []


def test_terraced_and_semi_detached_houses_under_the_current_bbr_codes_are_dwellings() -> None:
    # BBR registers these as 131 and 132 now (130 is being phased out)
    terraced = house("131", "Række-, kæde- og klyngehus", 110, 1975)
    semi = house("132", "Dobbelthus", 120, 1968)
    assert conflicts("secondary_building", ["Carport til vores rækkehus"], [terraced]) == []
    assert conflicts("extension", ["Tilbygning til dobbelthus"], [semi]) == []
    [differs] = conflicts("extension", ["Tilbygning til rækkehus"], [semi])
    assert (differs.rule, differs.registered) == ("house_type_differs", ["Dobbelthus"])


def test_addresses_with_accented_street_names_or_a_small_house_letter_are_found() -> None:
    assert property_address("Carport, Øster Allé 3, 8600 Silkeborg", []) == \
        "Øster Allé 3, 8600 Silkeborg"
    assert property_address("Byggetilladelse: carport, Ågade 12a", []) == "Ågade 12A"
    assert property_address("Byggeansøgning", ["Adresse: Skovvej 28 b"]) == "Skovvej 28B"
    assert property_address("Tilbygning, Émilie Allé 3", []) == "Émilie Allé 3"
    assert property_addresses("Ansøgning om tilbygning Frederiksberg Allé 14b", [])[0] == \
        "Frederiksberg Allé 14B"


def test_the_property_address_comes_from_the_title_or_an_address_line() -> None:
    assert property_address("Byggetilladelse: carport og redskabsrum, Ågade 12", []) == \
        "Ågade 12"
    assert property_address("Carport, skur, Bakkevej 7, 8680 Ry", []) == "Bakkevej 7, 8680 Ry"
    assert property_address("Byggeansøgning", ["Tekst\nEjendommens adresse: Birkevej 4B\n"]) \
        == "Birkevej 4B"
    assert property_address("Byggeansøgning, carport", ["ingen adresse"]) is None
    # a title as intake makes it: the street and number end it, after a dash or a word
    assert property_addresses("Henvendelse: Ansøgning om byggetilladelse – tilbygning "
                              "Skovvej 28", []) == ["Skovvej 28"]
    assert property_addresses("Byggetilladelse Ågade 12", []) == [
        "Byggetilladelse Ågade 12", "Ågade 12"]  # tried in turn against DAR


def test_the_inbox_words_each_contradiction_in_three_languages() -> None:
    [office] = conflicts("secondary_building", ["Carport"], [OFFICE])
    [again] = conflicts("secondary_building", ["Carport"], [HOUSE, CARPORT])
    payload = {"suggestion": {"building_registry": "checked", "conflicts": [
        office.model_dump(), again.model_dump()]}}
    da, nb, en = (Present(lang).reason(CONFLICT_REASON, payload) for lang in ("da", "nb", "en"))
    assert da.startswith("Ansøgningen gælder en carport til en bolig, men bygningerne på "
                         "adressen er i BBR kun registreret som “Kontor, handel, lager”.")
    assert "BBR viser allerede en carport (18 m², 2004) på adressen" in da
    assert "Søknaden gjelder en carport til en bolig" in nb
    assert en.startswith("The application is for a carport to a dwelling, but the buildings "
                         "at the address are registered in BBR only as “Kontor, handel, lager”.")
    assert "result" not in da + nb + en and "no_dwelling" not in da + nb + en


# -- end to end ----------------------------------------------------------------------------------

@pytest.fixture
def datafordeler(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:
    """The DAR + BBR stand-in, and the flows told where it is (as ``casework standins`` does);
    tasks are recorded for the inbox instead of the flow waiting."""
    with serving(bbr.create_app()) as server:
        monkeypatch.setenv("CASEWORK_BBR_GRAPHQL_URL", server.url + "/BBR/v1")
        monkeypatch.setenv("CASEWORK_BBR_REST_URL", server.url + "/BBR/BBRPublic/1/rest")
        monkeypatch.setenv("CASEWORK_BBR_API_KEY", bbr.API_KEY)
        for name, value in (("CASEWORK_SIGNOFF_WAIT", "record"),
                            ("CASEWORK_CONNECTOR_ATTEMPTS", "3"),
                            ("CASEWORK_CONNECTOR_INITIAL_WAIT", "0.01"),
                            ("CASEWORK_ITEM_RETRY_SECONDS", "0")):
            monkeypatch.setenv(name, value)
        reset_settings_cache()
        yield server


def carport_case(client: CaseSystemClient, address: str) -> str:
    """A complete carport application (nothing missing) at ``address``."""
    case = client.create_case(NewCase(title=f"Byggetilladelse: carport, {address}",
                                     case_type="building_permit", department="Byg og Miljø"))
    for title, doc_type, filename in (
            ("Ansøgning om byggetilladelse", "application", "ansoegning.txt"),
            ("Situationsplan", "site_plan", "situationsplan.txt"),
            ("Plantegning", "floor_plan", "plantegning.txt"),
            ("Facadetegning", "facade_drawing", "facade.txt")):
        client.add_document(case.id, title=title, document_type=doc_type, filename=filename,
                            content=b"Jeg soeger om en carport paa 30 m2.",
                            content_type="text/plain")
    return case.id


def screen(case_id: str):  # type: ignore[no-untyped-def]
    from flows.building_screening import add_cases, building_screening
    from flows.case_system_settings import case_system_connection

    added = add_cases(case_system_connection(), [case_id])
    return building_screening(item_ids=added.ids)


def task_of(row: Any) -> SignoffTask:
    assert row.state == ItemState.AWAITING_SIGNOFF, row
    with reading() as session:
        task = session.get(SignoffTask, row.signoff_task_id)
    assert task is not None
    return task


def steps_of(case_ref: str) -> dict[str, str]:
    with reading() as session:
        return {r.step: r.outcome for r in session.scalars(select(LedgerEntry).where(
            LedgerEntry.flow == "building_screening", LedgerEntry.case_ref == case_ref))}


@pytest.mark.usefixtures("prefect_api", "db_engine")
def test_a_carport_at_an_office_building_waits_with_the_reason_and_the_registry_facts(
        cases: CaseSystemClient, datafordeler: LoopbackServer) -> None:  # noqa: F811
    case_id = carport_case(cases, "Industrivej 5")
    [row] = screen(case_id).rows
    task = task_of(row)
    assert task.step == "check_building"
    payload = task.payload
    assert payload["signoff_reasons"] == [CONFLICT_REASON]
    [conflict] = payload["suggestion"]["conflicts"]
    assert (conflict["rule"], conflict["registered"]) == ("no_dwelling", ["Kontor, handel, lager"])
    facts = payload["evidence"]["facts"]
    assert facts["building_registry"] == "checked"
    assert facts["property_address"] == "Industrivej 5, 8600 Silkeborg"
    assert facts["registered_buildings"] == "Kontor, handel, lager, 860 m², 1991"
    assert "“Kontor, handel, lager”" in Present("da").reason(CONFLICT_REASON, payload)
    assert Present("en").fact_label("registered_buildings") == "Buildings registered in BBR"
    assert cases.list_journal_notes(case_id) == []  # nothing filed before a person looked


@pytest.mark.usefixtures("prefect_api", "db_engine")
def test_a_carport_at_a_house_is_noted_without_a_building_reason(
        cases: CaseSystemClient, datafordeler: LoopbackServer) -> None:  # noqa: F811
    case_id = carport_case(cases, "Ågade 12")
    [row] = screen(case_id).rows
    assert row.state == ItemState.DONE and (row.result or {})["status"] == "note_filed"
    assert steps_of(row.case_ref or "")["check_building"] == "completed"
    with reading() as session:
        assert session.scalars(select(SignoffTask)).all() == []
    assert len(cases.list_journal_notes(case_id)) == 1


@pytest.mark.usefixtures("prefect_api", "db_engine")
def test_an_unknown_or_ambiguous_address_waits_with_the_reason(
        cases: CaseSystemClient, datafordeler: LoopbackServer) -> None:  # noqa: F811
    unknown, twice = carport_case(cases, "Nørregade 99"), carport_case(cases, "Bakkevej 7")
    nowhere = cases.create_case(NewCase(title="Byggetilladelse: carport",
                                       case_type="building_permit"))
    cases.add_document(nowhere.id, title="Ansøgning om byggetilladelse",
                       document_type="application", filename="a.txt",
                       content=b"Carport paa 30 m2.", content_type="text/plain")
    task = task_of(screen(nowhere.id).rows[0])
    assert (task.step, task.payload["suggestion"]["building_registry"]) == (
        "check_building", "no_address")
    assert "sagen nævner ingen adresse" in Present("da").reason(ADDRESS_REASON, task.payload)
    for case_id, status in ((unknown, "address_not_found"), (twice, "address_ambiguous")):
        task = task_of(screen(case_id).rows[0])
        payload = task.payload
        assert (task.step, payload["signoff_reasons"]) == ("check_building", [ADDRESS_REASON])
        assert payload["suggestion"]["building_registry"] == status
        assert payload["evidence"]["facts"]["building_registry"] == status
    da = Present("da").reason(ADDRESS_REASON, task.payload)
    assert da == ("Robotten kunne ikke tjekke bygningerne i BBR: adressen Bakkevej 7 passer på "
                  "flere adresser (angiv postnummer).")
    assert "matches more than one address" in Present("en").reason(ADDRESS_REASON, task.payload)


@pytest.mark.usefixtures("prefect_api", "db_engine")
def test_the_municipalitys_postcodes_settle_an_address_found_in_two_towns(
        cases: CaseSystemClient, datafordeler: LoopbackServer,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEWORK_DAR_POSTCODES", "8680, 8660")  # Skanderborg's, say
    reset_settings_cache()
    case_id = carport_case(cases, "Bakkevej 7")
    [row] = screen(case_id).rows
    with reading() as session:
        lookup = session.scalars(select(ItemStep.result).where(
            ItemStep.work_item_id == row.item_id, ItemStep.step == "look_up_building")).one()
    assert lookup["building_registry"] == "checked"
    assert lookup["property_address"] == "Bakkevej 7, 8680 Ry"


def test_postcodes_narrow_only_when_they_pick_something() -> None:
    from connectors.dar import AccessAddress, in_postcodes

    two = [AccessAddress(id="a", text="Bakkevej 7, 8600 Silkeborg", house_number="7",
                         status="3"),
           AccessAddress(id="b", text="Bakkevej 7, 8680 Ry", house_number="7", status="3")]
    assert [a.id for a in in_postcodes(two, frozenset({"8680"}))] == ["b"]
    assert in_postcodes(two, frozenset({"1000"})) == two  # none of ours: still ambiguous
    assert in_postcodes(two, frozenset()) == two
    assert in_postcodes(two[:1], frozenset({"8680"})) == two[:1]  # one hit is kept as it is


def test_a_bad_postcode_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.settings import ConnectorSettings

    monkeypatch.setenv("CASEWORK_DAR_POSTCODES", "8600,86x0")
    with pytest.raises(ValueError, match="(?s)CASEWORK_DAR_POSTCODES.*86x0"):
        ConnectorSettings()


@pytest.mark.usefixtures("prefect_api", "db_engine")
def test_bbr_down_fails_the_item_by_name_and_a_later_run_finishes_it(
        cases: CaseSystemClient, datafordeler: LoopbackServer) -> None:  # noqa: F811
    case_id = carport_case(cases, "Ågade 12")
    httpx.post(datafordeler.url + "/_faults", json=[
        {"path": "/BBR/*", "status": 503, "times": 6}]).raise_for_status()
    [row] = screen(case_id).rows
    assert row.state == ItemState.FAILED and row.error == "TransientConnectorError"
    item = queue.get_item(row.item_id)
    assert item.state == "failed" and "BBR (REST)" in (item.last_error or "")
    assert "503" in (item.last_error or "") and "Ågade" not in (item.last_error or "")
    assert cases.list_journal_notes(case_id) == []

    from flows.building_screening import building_screening
    [again] = building_screening(item_ids=[row.item_id]).rows  # the fault is spent
    assert again.state == ItemState.DONE and (again.result or {})["status"] == "note_filed"
    assert len(cases.list_journal_notes(case_id)) == 1


@pytest.mark.usefixtures("prefect_api", "db_engine")
def test_without_bbr_the_run_says_so_once_and_the_task_shows_not_checked(
        cases: CaseSystemClient, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    from flows.building_screening import add_cases, building_screening
    from flows.case_system_settings import case_system_connection

    for name in ("CASEWORK_BBR_GRAPHQL_URL", "CASEWORK_BBR_REST_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CASEWORK_SIGNOFF_WAIT", "record")
    reset_settings_cache()
    done = carport_case(cases, "Ågade 12")
    added = add_cases(case_system_connection(), [done, "SAG-2026-0001"])  # 2nd lacks drawings
    # A handler of its own on the flow's logger: Prefect's logging set-up at the first flow run
    # of a process replaces the root handlers, caplog's among them.
    kept: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = kept.append  # type: ignore[method-assign]
    flow_log = logging.getLogger("flows.building_screening")
    flow_log.addHandler(handler)
    try:
        report = building_screening(item_ids=added.ids)
    finally:
        flow_log.removeHandler(handler)
    skipped = [r.getMessage() for r in kept if "building check is skipped" in r.getMessage()]
    assert len(skipped) == 1 and "Ågade" not in skipped[0] and "SAG-" not in skipped[0]
    states = sorted(r.state.value for r in report.rows)
    assert states == ["awaiting_signoff", "done"]
    [parked] = [r for r in report.rows if r.state == ItemState.AWAITING_SIGNOFF]
    task = task_of(parked)
    assert task.step == "draft_request_letter"
    assert task.payload["evidence"]["facts"]["building_registry"] == "not_configured"
    shown = {lang: Present(lang).value("building_registry", "not_configured")
             for lang in ("da", "nb", "en")}
    assert shown == {"da": "ikke tjekket: BBR er ikke sat op til robotten",
                     "nb": "ikke sjekket: BBR er ikke satt opp for roboten",
                     "en": "not checked: the building register is not set up for the robot"}


@pytest.mark.usefixtures("prefect_api", "db_engine")
def test_bbr_by_rest_without_a_dar_url_stops_the_run_up_front_by_name(
        cases: CaseSystemClient, datafordeler: LoopbackServer,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.building_screening import add_cases, building_screening
    from flows.case_system_settings import case_system_connection
    from flows.settings import MissingSetting

    monkeypatch.delenv("CASEWORK_BBR_GRAPHQL_URL")  # REST only: DAR's URL cannot be derived
    reset_settings_cache()
    added = add_cases(case_system_connection(), [carport_case(cases, "Ågade 12")])
    with pytest.raises(MissingSetting, match="CASEWORK_DAR_GRAPHQL_URL"):
        building_screening(item_ids=added.ids)
    assert queue.get_item(added.ids[0]).state == "new"  # no item failed on it
