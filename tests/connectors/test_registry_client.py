"""The registry client against its stand-in: persons and properties a caseworker looks up."""

from __future__ import annotations

from datetime import date

import pytest

from connectors.http import MalformedResponseError, NotFoundError, PermanentConnectorError
from connectors.registry import RegistryClient


def test_person_lookup(registry_client: RegistryClient) -> None:
    karen = registry_client.person("120463-5017")
    assert karen.name == "Karen Holm Sørensen" and karen.address == "Ågade 12"
    assert (karen.postcode, karen.municipality_code) == ("8600", "740")
    assert karen.birth_date == date(1863, 4, 12) and karen.protected_address is False
    assert "Karen" not in repr(karen) and "120463" not in repr(karen)
    assert registry_client.person("1706927348").protected_address is True


def test_unknown_person_is_not_found_without_the_cpr_in_the_message(registry_client) -> None:
    with pytest.raises(NotFoundError) as caught:
        registry_client.person("010199-5999")
    assert str(caught.value) == ("registry: POST /persons/lookup -> 404: "
                                 "no person with that CPR number")
    assert registry_client.find_person("010199-5999") is None


def test_badly_formed_cpr_is_refused_naming_the_field(registry_client) -> None:
    with pytest.raises(PermanentConnectorError) as caught:
        registry_client.person("12-04-63")
    assert caught.value.status == 422 and "field 'body.cpr'" in str(caught.value)


def test_property_by_bfe_address_and_owner(registry_client: RegistryClient) -> None:
    record = registry_client.property(5127431)
    assert record.land_register_number == "12ab, Silkeborg Bygrunde"
    assert (record.plot_area_m2, record.built_area_m2, record.building_year) == (742, 148, 1962)
    assert record.zoning_plan.startswith("Lokalplan 87") and record.use_code == "120"
    assert [p.bfe_number for p in registry_client.properties_at("skovvej 28")] == [5331908]
    assert [p.bfe_number for p in registry_client.properties_owned_by("170692-7348")] == [
        5408815]
    assert registry_client.properties_owned_by("290366-8564") == []
    with pytest.raises(NotFoundError, match="-> 404: no property with BFE number 1"):
        registry_client.property(1)


def test_registry_faults(registry_client, registry_server, inject) -> None:
    inject(registry_server, [{"path": "/persons/lookup", "status": 500},
                             {"path": "/persons/lookup", "drop": True},
                             {"path": "/persons/lookup", "omit_fields": ["protected_address"]}])
    with pytest.raises(MalformedResponseError) as caught:
        registry_client.person("120463-5017")  # 500, dropped, then a malformed answer
    assert caught.value.field == "protected_address"
    assert registry_client.person("120463-5017").protected_address is False
