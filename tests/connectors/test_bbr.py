"""BBR building lookup against a loopback fake of Datafordeleren: GraphQL first (fields
checked against the published schema excerpt, cursor paging), REST when GraphQL is down,
wrong API key, malformed answers; and the DAR address lookup that finds the husnummer id."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from connectors.bbr import BUILDING_FIELDS, UNIT_FIELDS, BbrClient
from connectors.dar import HUSNUMMER_FIELDS, HUSNUMMER_QUERY, DarClient
from connectors.http import MalformedResponseError, PermanentConnectorError, RetryPolicy
from connectors.interfaces import BuildingRegistry
from standins import bbr
from standins.server import LoopbackServer, serving

FAST = RetryPolicy(attempts=3, initial_wait=0.01, max_wait=0.05, jitter=0.01)
AAGADE = bbr.records()["addresses"]["Ågade 12, 8600 Silkeborg"]
LYNGBAKKEN = bbr.records()["addresses"]["Lyngbakken 3, 8680 Ry"]


@pytest.fixture
def fake() -> Iterator[LoopbackServer]:
    with serving(bbr.create_app(page_size=1)) as server:  # one per page: paging is used
        yield server


def client(server: LoopbackServer, *, graphql: bool = True, rest: bool = True,
           api_key: str = bbr.API_KEY) -> BbrClient:
    return BbrClient(graphql_url=server.url + "/BBR/v1" if graphql else None,
                     rest_url=server.url + "/BBR/BBRPublic/1/rest" if rest else None,
                     api_key=api_key, timeout=2.0, retry=FAST)


def test_the_connector_asks_only_for_published_fields() -> None:
    published = bbr.published_fields()
    assert set(BUILDING_FIELDS) <= published["BBR_Bygning"]
    assert set(UNIT_FIELDS) <= published["BBR_Enhed"]


def test_buildings_with_use_area_year_and_units_by_graphql(fake: LoopbackServer) -> None:
    with client(fake) as registry:
        assert isinstance(registry, BuildingRegistry)
        house, shed = registry.buildings_at_address(AAGADE)
        assert registry.last_source == "graphql"
    assert (house.use_code, house.use_text, house.year_built, house.total_area_m2) == (
        "120", "Fritliggende enfamiliehus", 1978, 142)
    assert [(u.use_code, u.area_m2) for u in house.units] == [("120", 142)]
    assert (shed.use_code, shed.use_text, shed.units) == ("930", "Udhus", [])


def test_units_paged_over_several_pages(fake: LoopbackServer) -> None:
    with client(fake) as registry:
        (block,) = registry.buildings_at_address(LYNGBAKKEN)
    assert [u.area_m2 for u in block.units] == [88, 92]


def test_rest_fallback_when_graphql_is_down(fake: LoopbackServer) -> None:
    httpx.post(fake.url + "/_faults", json=[{"path": "/BBR/v1*", "status": 503,
                                             "times": 10}]).raise_for_status()
    with client(fake) as registry:
        found = registry.buildings_at_address(AAGADE)
        assert registry.last_source == "rest"
    assert [b.use_code for b in found] == ["120", "930"]
    assert [u.area_m2 for u in found[0].units] == [142]


def test_same_answer_from_rest_only(fake: LoopbackServer) -> None:
    with client(fake) as both, client(fake, graphql=False) as rest_only:
        assert rest_only.buildings_at_address(AAGADE) == both.buildings_at_address(AAGADE)


def test_wrong_api_key_is_not_hidden_by_the_fallback(fake: LoopbackServer) -> None:
    with client(fake, api_key="forkert") as registry, \
            pytest.raises(PermanentConnectorError) as caught:
        registry.buildings_at_address(AAGADE)
    assert caught.value.status == 401 and "BBR (GraphQL)" in str(caught.value)
    assert "forkert" not in str(caught.value)


def test_graphql_errors_and_missing_fields_are_named(fake: LoopbackServer) -> None:
    httpx.post(fake.url + "/_faults", json=[{"path": "/BBR/v1*",
                                             "body": '{"data": {"BBR_Bygning": {}}}'}])
    with client(fake, rest=False) as registry, pytest.raises(MalformedResponseError) as caught:
        registry.buildings_at_address(AAGADE)
    assert "data.BBR_Bygning" in str(caught.value)


# -- DAR: the address text to the husnummer id BBR keys buildings by ----------------------------

def dar(server: LoopbackServer, api_key: str = bbr.API_KEY) -> DarClient:
    return DarClient(server.url + "/DAR/v1", api_key=api_key, timeout=2.0, retry=FAST)


def test_dar_asks_only_for_published_fields() -> None:
    assert set(HUSNUMMER_FIELDS) <= bbr.published_fields()["DAR_Husnummer"]


def test_an_address_without_postcode_finds_its_husnummer_and_not_a_longer_number(
        fake: LoopbackServer) -> None:
    with dar(fake) as addresses, client(fake) as buildings:
        [found] = addresses.find("Ågade 12")
        assert (found.id, found.text, found.house_number) == (
            AAGADE, "Ågade 12, 8600 Silkeborg", "12")
        assert [b.use_code for b in buildings.buildings_at_address(found.id)] == ["120", "930"]
        assert addresses.find("Ågade 1") == []  # "Ågade 1," is not "Ågade 12,"
        assert [a.text for a in addresses.find("Lyngbakken 3, 8680 Ry")] == [
            "Lyngbakken 3, 8680 Ry"]


def test_the_same_street_and_number_in_two_towns_gives_two(fake: LoopbackServer) -> None:
    with dar(fake) as addresses:  # page size 1: paging is used
        assert sorted(a.text for a in addresses.find("Bakkevej 7")) == [
            "Bakkevej 7, 8600 Silkeborg", "Bakkevej 7, 8680 Ry"]
        assert [a.text for a in addresses.find("Bakkevej 7, 8680 Ry")] == ["Bakkevej 7, 8680 Ry"]


def test_dar_faults_are_named(fake: LoopbackServer) -> None:
    with dar(fake, api_key="forkert") as addresses, \
            pytest.raises(PermanentConnectorError) as refused:
        addresses.find("Ågade 12")
    assert refused.value.status == 401 and "forkert" not in str(refused.value)
    httpx.post(fake.url + "/_faults", json=[{"path": "/DAR/v1*",
                                             "body": '{"data": {"DAR_Husnummer": []}}'}])
    with dar(fake) as addresses, pytest.raises(MalformedResponseError) as caught:
        addresses.find("Ågade 12")
    assert "data.DAR_Husnummer.nodes" in str(caught.value) and "Ågade" not in str(caught.value)


def test_a_graphql_error_that_echoes_the_address_does_not_carry_it(fake: LoopbackServer) -> None:
    body = ('{"errors": [{"message": "Variable `text` got an invalid value: '
            '\\"Øster Allé 3,\\" (Øster Allé 3)"}], "data": null}')
    httpx.post(fake.url + "/_faults", json=[{"path": "/DAR/v1*", "body": body}])
    with dar(fake) as addresses, pytest.raises(PermanentConnectorError) as caught:
        addresses.find("Øster Allé 3")
    assert "GraphQL error" in str(caught.value) and "Øster" not in str(caught.value)


def test_the_bbr_service_does_not_answer_dar_queries(fake: LoopbackServer) -> None:
    answer = httpx.post(fake.url + "/BBR/v1", params={"apiKey": bbr.API_KEY},
                        json={"query": HUSNUMMER_QUERY, "variables": {"text": "Ågade 12,"}})
    assert answer.json()["errors"]
