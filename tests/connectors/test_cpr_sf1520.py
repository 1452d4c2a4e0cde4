"""CPR lookup (SF1520 PersonBaseDataExtended v4) with zeep on the official WSDL against a
loopback SOAP stub whose answers validate against the official XSD: mapping, protected
address, SOAP faults, unreachable service, 503s retried."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from connectors.cpr_sf1520 import InvocationContext, Sf1520Client
from connectors.http import (
    NotFoundError,
    PermanentConnectorError,
    RetryPolicy,
    TransientConnectorError,
)
from connectors.interfaces import PersonRegistry
from standins import sf1520
from standins.sample_data import load_sample
from standins.server import LoopbackServer, serving

FAST = RetryPolicy(attempts=3, initial_wait=0.01, max_wait=0.05, jitter=0.01)
CONTEXT = InvocationContext(service_agreement_uuid="11111111-1111-1111-1111-111111111111",
                            user_system_uuid="22222222-2222-2222-2222-222222222222",
                            user_uuid="33333333-3333-3333-3333-333333333333",
                            service_uuid="44444444-4444-4444-4444-444444444444")


@pytest.fixture
def stub() -> Iterator[LoopbackServer]:
    with serving(sf1520.create_app()) as server:
        yield server


def client(server: LoopbackServer) -> Sf1520Client:
    return Sf1520Client(server.url + "/service/CPR/PersonBaseDataExtended/4", CONTEXT,
                        timeout=2.0, retry=FAST)


def test_every_stub_answer_validates_against_the_official_xsd() -> None:
    for person in load_sample().persons:
        sf1520.schema().validate(sf1520.person_response(person))
    with pytest.raises(Exception, match="antalBoernUnder18|Unexpected child"):
        broken = sf1520.person_response(load_sample().persons[0]).replace(
            "<antalBoernUnder18>0</antalBoernUnder18>", "")
        sf1520.schema().validate(broken)


def test_person_mapped_from_the_soap_answer(stub: LoopbackServer) -> None:
    with client(stub) as cpr:
        assert isinstance(cpr, PersonRegistry)
        karen = cpr.person("120463-5017")
    assert (karen.first_name, karen.last_name) == ("Karen", "Holm Sørensen")
    assert karen.name == "Karen Holm Sørensen"
    assert (karen.address, karen.postcode, karen.city, karen.municipality_code) == (
        "Ågade 12", "8600", "Silkeborg", "740")
    assert karen.birth_date.isoformat() == "1863-04-12" and not karen.protected_address
    assert "120463" not in repr(karen)


def test_protected_address_is_carried(stub: LoopbackServer) -> None:
    with client(stub) as cpr:
        assert cpr.person("1706927348").protected_address is True


def test_unknown_person_is_a_soap_fault_mapped_to_not_found(stub: LoopbackServer) -> None:
    with client(stub) as cpr:
        with pytest.raises(NotFoundError) as caught:
            cpr.person("010190-1234")
        assert cpr.find_person("010190-1234") is None
    message = str(caught.value)
    assert "SOAP fault" in message and "404: Person med PNR" in message
    assert "0101901234" not in message and "XXXXXX-XXXX" in message


def test_503_is_retried_then_named(stub: LoopbackServer) -> None:
    httpx.post(stub.url + "/_faults", json=[{"path": "/service/*", "status": 503,
                                             "times": 2}]).raise_for_status()
    with client(stub) as cpr:
        assert cpr.person("080977-5452").last_name == "Dam Andersen"
    httpx.post(stub.url + "/_faults", json=[{"path": "/service/*", "status": 503,
                                             "times": 9}]).raise_for_status()
    with client(stub) as cpr, pytest.raises(TransientConnectorError, match="503"):
        cpr.person("080977-5452")


def test_an_answer_that_is_not_xml_is_named(stub: LoopbackServer) -> None:
    httpx.post(stub.url + "/_faults", json=[{"path": "/service/*",
                                             "body": "<html>proxy error"}]).raise_for_status()
    with client(stub) as cpr, pytest.raises(PermanentConnectorError):
        cpr.person("080977-5452")


def test_unreachable_service() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cpr = Sf1520Client(f"http://127.0.0.1:{port}/service", CONTEXT, timeout=1.0, retry=FAST)
    with pytest.raises(TransientConnectorError, match="gave up after 3 attempts.*Connection"):
        cpr.person("080977-5452")
