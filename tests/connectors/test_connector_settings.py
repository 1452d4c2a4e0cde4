"""A setting switches a flow to the real connector; by default every interface is served by
the embedded stand-ins. ``casework doctor`` reaches each configured real system."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.bbr import BbrClient
from connectors.case_system import CaseSystemClient
from connectors.cpr_sf1520 import Sf1520Client
from connectors.doctor_checks import connector_checks
from connectors.graph_mail import GraphMailbox
from connectors.imap_mailbox import ImapMailbox
from connectors.interfaces import CaseSystem, MailSource, PersonRegistry
from connectors.mailbox import DropFolderMailbox
from connectors.registry import RegistryClient
from connectors.sbsys import SbsysClient
from flows.settings import ConnectorSettings, MissingSetting
from standins import bbr, sbsys
from standins.server import serving


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    import os

    for name in list(os.environ):
        if name.startswith("CASEWORK_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_defaults_are_the_stand_ins(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("CASEWORK_CASE_SYSTEM_URL", "http://127.0.0.1:9")
    clean_env.setenv("CASEWORK_CASE_SYSTEM_TOKEN", "t")
    clean_env.setenv("CASEWORK_REGISTRY_URL", "http://127.0.0.1:9")
    clean_env.setenv("CASEWORK_REGISTRY_TOKEN", "t")
    settings = ConnectorSettings()
    assert isinstance(settings.mail_source_client(tmp_path), DropFolderMailbox)
    with settings.case_system() as cases, settings.person_registry_client() as persons:
        assert isinstance(cases, CaseSystemClient) and isinstance(cases, CaseSystem)
        assert isinstance(persons, RegistryClient) and isinstance(persons, PersonRegistry)
    assert settings.building_registry() is None
    assert settings.address_registry() is None


def test_settings_switch_to_the_real_connectors(clean_env: pytest.MonkeyPatch) -> None:
    env = {"MAIL_SOURCE": "imap", "IMAP_HOST": "imap.kommune.dk", "IMAP_USERNAME": "robot",
           "IMAP_PASSWORD": "x", "CASE_SYSTEM": "sbsys", "SBSYS_URL": "https://sbsys.dk/api",
           "SBSYS_TOKEN_URL": "https://sbsys.dk/token", "SBSYS_CLIENT_ID": "c",
           "SBSYS_CLIENT_SECRET": "s", "SBSYS_USERNAME": "u", "SBSYS_PASSWORD": "p",
           "SBSYS_TEMPLATES": "building_permit=12", "SBSYS_CASEWORKER_ID": "7",
           "PERSON_REGISTRY": "sf1520", "SF1520_URL": "https://prod.serviceplatformen.dk/x",
           "SF1520_SERVICE_AGREEMENT_UUID": "1" * 36, "SF1520_USER_SYSTEM_UUID": "2" * 36,
           "SF1520_USER_UUID": "3" * 36, "SF1520_SERVICE_UUID": "4" * 36,
           "BBR_GRAPHQL_URL": "https://graphql.datafordeler.dk/BBR/v1", "BBR_API_KEY": "k"}
    for name, value in env.items():
        clean_env.setenv(f"CASEWORK_{name}", value)
    settings = ConnectorSettings()
    assert isinstance(settings.mail_source_client(), ImapMailbox)
    with settings.case_system() as cases:
        assert isinstance(cases, SbsysClient) and cases.templates == {"building_permit": 12}
    with settings.person_registry_client() as persons:  # type: ignore[attr-defined]
        assert isinstance(persons, Sf1520Client)
    assert isinstance(settings.building_registry(), BbrClient)
    with settings.address_registry() as addresses:  # type: ignore[union-attr]
        assert str(addresses._client.base_url) == "https://graphql.datafordeler.dk/DAR/v1/"
    clean_env.delenv("CASEWORK_BBR_GRAPHQL_URL")
    clean_env.setenv("CASEWORK_BBR_REST_URL", "https://services.datafordeler.dk/BBR/x/rest")
    with pytest.raises(MissingSetting, match="CASEWORK_DAR_GRAPHQL_URL"):
        ConnectorSettings().address_registry()
    clean_env.setenv("CASEWORK_MAIL_SOURCE", "graph")
    clean_env.setenv("CASEWORK_GRAPH_TENANT", "t")
    clean_env.setenv("CASEWORK_GRAPH_CLIENT_ID", "c")
    clean_env.setenv("CASEWORK_GRAPH_MAILBOX", "post@kommune.dk")
    with pytest.raises(MissingSetting, match="CASEWORK_GRAPH_CLIENT_SECRET"):
        ConnectorSettings().mail_source_client()
    clean_env.setenv("CASEWORK_GRAPH_CLIENT_SECRET", "s")
    source = ConnectorSettings().mail_source_client()
    assert isinstance(source, GraphMailbox) and isinstance(source, MailSource)


def test_a_half_configured_connector_names_the_variable(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CASEWORK_MAIL_SOURCE", "imap")
    with pytest.raises(MissingSetting, match="CASEWORK_IMAP_HOST"):
        ConnectorSettings().mail_source_client()


def test_doctor_reaches_sbsys_and_names_refused_credentials(
        clean_env: pytest.MonkeyPatch) -> None:
    with serving(sbsys.create_app()) as server:
        for name, value in {"CASE_SYSTEM": "sbsys", "SBSYS_URL": server.url,
                            "SBSYS_TOKEN_URL": server.url + "/token",
                            "SBSYS_CLIENT_ID": sbsys.CLIENT_ID,
                            "SBSYS_CLIENT_SECRET": sbsys.CLIENT_SECRET,
                            "SBSYS_USERNAME": sbsys.USERNAME, "SBSYS_PASSWORD": sbsys.PASSWORD,
                            "SBSYS_TEMPLATES": "building_permit=1",
                            "SBSYS_CASEWORKER_ID": "7"}.items():
            clean_env.setenv(f"CASEWORK_{name}", value)
        rows = {row["name"]: row for row in connector_checks()}
        assert rows["connectors"]["detail"].startswith("mail: drop_folder, case system: sbsys")
        assert rows["case system (SBSYS)"]["status"] == "ok"
        clean_env.setenv("CASEWORK_SBSYS_PASSWORD", "forkert")
        clean_env.setenv("CASEWORK_SBSYS_TEMPLATES", "building_permit=99")
        row = {r["name"]: r for r in connector_checks()}["case system (SBSYS)"]
        assert row["status"] == "FAIL" and "token refused" in row["detail"]
        assert "forkert" not in row["detail"] and row["hint"]


def test_doctor_reaches_bbr_and_the_dar_address_service_beside_it(
        clean_env: pytest.MonkeyPatch) -> None:
    with serving(bbr.create_app()) as server:
        clean_env.setenv("CASEWORK_BBR_GRAPHQL_URL", server.url + "/BBR/v1")
        clean_env.setenv("CASEWORK_BBR_API_KEY", bbr.API_KEY)
        rows = {row["name"]: row for row in connector_checks()}
        assert (rows["BBR"]["status"], rows["DAR (addresses)"]["status"]) == ("ok", "ok")
        clean_env.setenv("CASEWORK_DAR_GRAPHQL_URL", server.url + "/DAR/v9")
        row = {r["name"]: r for r in connector_checks()}["DAR (addresses)"]
        assert row["status"] == "FAIL" and "404" in row["detail"] and row["hint"]
