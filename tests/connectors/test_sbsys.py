"""SBSYS specifics beyond the case-system contract: the password grant (wrong credentials,
a revoked token renewed once), case numbers as citizens quote them, and the Swagger check."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_case_system_contract import LISE, sbsys_client

from connectors.case_system import NewCase
from connectors.http import PermanentConnectorError
from connectors.sbsys import PATHS
from connectors.swagger_check import check_paths
from standins import sbsys
from standins.server import LoopbackServer, serving


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with serving(sbsys.create_app()) as running:
        yield running


def test_wrong_password_names_the_token_endpoint_not_the_secret(server: LoopbackServer) -> None:
    with sbsys_client(server.url, password="forkert") as client, \
            pytest.raises(PermanentConnectorError) as caught:
        client.list_cases()
    message = str(caught.value)
    assert message.startswith("SBSYS: POST /token -> 400: token refused (invalid_grant)")
    assert "'robot'" in message and "forkert" not in message


def test_a_revoked_token_is_renewed_once(server: LoopbackServer) -> None:
    with sbsys_client(server.url) as client:
        client.list_cases()
        assert client.auth.fetched == 1
        httpx.post(server.url + "/_admin/expire-tokens").raise_for_status()
        client.list_cases()
        assert client.auth.fetched == 2


def test_case_found_by_the_number_citizens_quote(server: LoopbackServer) -> None:
    with sbsys_client(server.url) as client:
        case = client.create_case(NewCase(title="Carport", case_type="building_permit",
                                          citizen_cpr=LISE))
        number = httpx.get(f"{server.url}/api/sag/{case.id}", headers={
            "Authorization": f"Bearer {client.auth.token()}"}).json()["Nummer"]
        assert client.get_case(number).id == case.id
        assert client.find_case("99.99.99-X01-1-26") is None


def test_unknown_case_type_says_which_templates_exist(server: LoopbackServer) -> None:
    with sbsys_client(server.url) as client, pytest.raises(PermanentConnectorError) as caught:
        client.create_case(NewCase(title="x", case_type="dog_licence", citizen_cpr=LISE))
    assert "no SBSYS template for case type 'dog_licence'; known: building_permit, general" \
        in str(caught.value)


def test_check_swagger_lists_paths_the_file_lacks(tmp_path: Path, server: LoopbackServer,
                                                  ) -> None:
    spec = server_spec(server)
    complete = tmp_path / "sbsys.json"
    complete.write_text(json.dumps(spec), encoding="utf-8")
    assert check_paths(complete, PATHS) == []
    del spec["paths"]["/api/journalarknote/create"]
    spec["paths"]["/api/fil/{filId}"] = spec["paths"].pop("/api/fil/{file_id}")
    partial = tmp_path / "old.json"
    partial.write_text(json.dumps(spec), encoding="utf-8")
    assert check_paths(partial, PATHS) == ["POST /api/journalarknote/create"]


def server_spec(server: LoopbackServer) -> dict:
    """The stand-in's own OpenAPI document, as a municipality's Swagger file would be."""
    return httpx.get(server.url + "/openapi.json").json()



def test_check_swagger_command_exit_codes(tmp_path: Path, server: LoopbackServer) -> None:
    from typer.testing import CliRunner

    from connectors.cli import connectors_app

    spec = server_spec(server)
    good, bad, broken = tmp_path / "good.json", tmp_path / "bad.json", tmp_path / "broken.yaml"
    good.write_text(json.dumps(spec), encoding="utf-8")
    del spec["paths"]["/api/v10/sag/template"]
    bad.write_text(json.dumps(spec), encoding="utf-8")
    broken.write_text("openapi: 3.0.0\ninfo: {title: x}\n", encoding="utf-8")
    runner = CliRunner()
    ok = runner.invoke(connectors_app, ["check-swagger", str(good)])
    assert ok.exit_code == 0 and "all 11 calls" in ok.output
    missing = runner.invoke(connectors_app, ["check-swagger", str(bad)])
    assert missing.exit_code == 1 and "POST /api/v10/sag/template" in missing.output
    unreadable = runner.invoke(connectors_app, ["check-swagger", str(broken)])
    assert unreadable.exit_code == 2 and "no 'paths' object" in unreadable.output
