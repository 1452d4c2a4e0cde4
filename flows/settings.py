"""Where the flows find the outside systems: URLs and paths from flow parameters or the
environment (prefix ``CASEWORK_``), tokens from the environment only, never from files or
flow parameters (Prefect stores parameters with every run).

    CASEWORK_CASE_SYSTEM_URL=https://esdh.example.dk/api  CASEWORK_CASE_SYSTEM_TOKEN=...
    CASEWORK_REGISTRY_URL=https://registry.example.dk      CASEWORK_REGISTRY_TOKEN=...
    CASEWORK_MAILBOX_PATH=/srv/casework/post-drop          CASEWORK_ROUTER_MODEL=/srv/models/router

Which system stands behind each interface is a setting; the default is the embedded stand-in,
so the demo needs no outside system (see connectors/README.md for every variable):

    CASEWORK_MAIL_SOURCE=drop_folder | imap | graph
    CASEWORK_CASE_SYSTEM=standin | sbsys
    CASEWORK_PERSON_REGISTRY=standin | sf1520
    CASEWORK_BBR_GRAPHQL_URL / CASEWORK_BBR_REST_URL (building lookup; off when unset)
    CASEWORK_DAR_GRAPHQL_URL (address -> husnummer; default: next to the BBR GraphQL URL)
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from connectors.bbr import BbrClient
from connectors.case_system import CaseSystemClient
from connectors.cpr_sf1520 import InvocationContext, Sf1520Client
from connectors.dar import DarClient
from connectors.graph_mail import GraphMailbox, GraphSettings, msal_token_source
from connectors.http import RetryPolicy
from connectors.imap_mailbox import ImapMailbox, ImapSettings
from connectors.interfaces import MailSource, PersonRegistry
from connectors.mailbox import DropFolderMailbox
from connectors.registry import RegistryClient
from connectors.sbsys import SbsysClient

T = TypeVar("T")


class MissingSetting(ValueError):
    """A connection setting has no value; ``str()`` names the parameter and the variable."""


class ConnectorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CASEWORK_", extra="ignore")

    case_system_url: str | None = Field(default=None, description="Case system (ESDH) API URL.")
    case_system_token: SecretStr | None = Field(default=None, description="Bearer token.")
    registry_url: str | None = Field(default=None, description="Citizen/property registry URL.")
    registry_token: SecretStr | None = Field(default=None, description="Bearer token.")
    mailbox_path: Path | None = Field(default=None, description="Drop folder of letters.")
    router_model: Path | None = Field(default=None, description="Router model folder.")
    connector_timeout: float = Field(default=10.0, gt=0, description="Seconds per request.")
    connector_attempts: int = Field(default=5, ge=1, description="Tries per request.")
    connector_initial_wait: float = Field(default=0.5, ge=0,
                                          description="First backoff wait, seconds.")

    # -- which system stands behind each interface (default: the embedded stand-ins) ---------
    mail_source: Literal["drop_folder", "imap", "graph"] = "drop_folder"
    case_system_kind: Literal["standin", "sbsys"] = Field(
        default="standin", validation_alias="CASEWORK_CASE_SYSTEM")
    person_registry: Literal["standin", "sf1520"] = "standin"

    imap_host: str | None = None
    imap_port: int = Field(default=993, gt=0, lt=65536)
    imap_username: str | None = None
    imap_password: SecretStr | None = None
    imap_security: Literal["ssl", "starttls", "plain"] = "ssl"
    imap_folder: str = "INBOX"
    imap_done_folder: str = "Behandlet"
    imap_only_unseen: bool = True

    graph_tenant: str | None = None
    graph_client_id: str | None = None
    graph_client_secret: SecretStr | None = None
    graph_certificate_path: Path | None = None
    graph_mailbox: str | None = None
    graph_folder: str = "inbox"
    graph_done_folder: str = "Behandlet"
    graph_authority_host: str = "https://login.microsoftonline.com"
    graph_url: str = "https://graph.microsoft.com/v1.0"

    sbsys_url: str | None = None
    sbsys_token_url: str | None = None
    sbsys_client_id: str | None = None
    sbsys_client_secret: SecretStr | None = None
    sbsys_username: str | None = None
    sbsys_password: SecretStr | None = None
    sbsys_templates: str = ""  # case type -> template id: building_permit=12,general=3
    sbsys_caseworker_id: int | None = None

    sf1520_url: str | None = None
    sf1520_certificate: Path | None = None  # PEM certificate (FOCES), with the key or not
    sf1520_key: Path | None = None
    sf1520_ca_bundle: Path | None = None
    sf1520_service_agreement_uuid: str | None = None
    sf1520_user_system_uuid: str | None = None
    sf1520_user_uuid: str | None = None
    sf1520_service_uuid: str | None = None

    bbr_graphql_url: str | None = None
    bbr_rest_url: str | None = None
    bbr_api_key: SecretStr | None = None
    dar_graphql_url: str | None = None
    dar_postcodes: str = ""  # the municipality's postcodes, "8600,8620": narrows a street and
    # number that several towns have (a building case's address often has no postcode)

    @field_validator("dar_postcodes")
    @classmethod
    def _postcodes_parse(cls, value: str) -> str:
        bad = [p for p in value.replace(";", ",").split(",") if p.strip()
               and not re.fullmatch(r"\d{4}", p.strip())]
        if bad:
            raise ValueError(f"CASEWORK_DAR_POSTCODES: postcodes are four digits, separated "
                             f"by commas; not {bad[0]!r}")
        return value

    @property
    def postcodes(self) -> frozenset[str]:
        return frozenset(p.strip() for p in self.dar_postcodes.replace(";", ",").split(",")
                         if p.strip())

    @field_validator("sbsys_templates")
    @classmethod
    def _templates_parse(cls, value: str) -> str:
        _parse_templates(value)  # a bad value fails at start, naming the variable
        return value

    def templates(self) -> dict[str, int]:
        return _parse_templates(self.sbsys_templates)

    def retry(self) -> RetryPolicy:
        wait = self.connector_initial_wait
        return RetryPolicy(attempts=self.connector_attempts, initial_wait=wait,
                           max_wait=max(wait, 8.0 if wait >= 0.5 else wait * 8),
                           jitter=min(0.5, wait), retry_after_cap=30.0 if wait >= 0.5 else 1.0)

    def case_system(self, url: str | None = None, *,
                    token: SecretStr | None = None) -> CaseSystemClient | SbsysClient:
        """The configured case system: the stand-in's REST API, or SBSYS."""
        if self.case_system_kind == "sbsys":
            return self.sbsys(url)
        base = _required(url or self.case_system_url, "case_system_url",
                         "CASEWORK_CASE_SYSTEM_URL")
        token = _required(token or self.case_system_token, "case system token",
                          "CASEWORK_CASE_SYSTEM_TOKEN")
        return CaseSystemClient(base, token.get_secret_value(), timeout=self.connector_timeout,
                                retry=self.retry())

    def registry(self, url: str | None = None) -> RegistryClient:
        base = _required(url or self.registry_url, "registry_url", "CASEWORK_REGISTRY_URL")
        token = _required(self.registry_token, "registry token", "CASEWORK_REGISTRY_TOKEN")
        return RegistryClient(base, token.get_secret_value(), timeout=self.connector_timeout,
                              retry=self.retry())

    def sbsys(self, url: str | None = None) -> SbsysClient:
        return SbsysClient(
            _required(url or self.sbsys_url, "sbsys_url", "CASEWORK_SBSYS_URL"),
            token_url=_required(self.sbsys_token_url, "sbsys_token_url",
                                "CASEWORK_SBSYS_TOKEN_URL"),
            client_id=_required(self.sbsys_client_id, "sbsys_client_id",
                                "CASEWORK_SBSYS_CLIENT_ID"),
            client_secret=_required(self.sbsys_client_secret, "sbsys_client_secret",
                                    "CASEWORK_SBSYS_CLIENT_SECRET").get_secret_value(),
            username=_required(self.sbsys_username, "sbsys_username", "CASEWORK_SBSYS_USERNAME"),
            password=_required(self.sbsys_password, "sbsys_password",
                               "CASEWORK_SBSYS_PASSWORD").get_secret_value(),
            templates=_required(self.templates() or None, "sbsys_templates",
                                "CASEWORK_SBSYS_TEMPLATES"),
            caseworker_id=_required(self.sbsys_caseworker_id, "sbsys_caseworker_id",
                                    "CASEWORK_SBSYS_CASEWORKER_ID"),
            timeout=self.connector_timeout, retry=self.retry())

    def mail_source_client(self, path: str | Path | None = None) -> MailSource:
        """The configured mail source: drop folder (default), IMAP or Microsoft Graph."""
        if self.mail_source == "imap":
            return ImapMailbox(ImapSettings(
                host=_required(self.imap_host, "imap_host", "CASEWORK_IMAP_HOST"),
                port=self.imap_port,
                username=_required(self.imap_username, "imap_username",
                                   "CASEWORK_IMAP_USERNAME"),
                password=_required(self.imap_password, "imap_password",
                                   "CASEWORK_IMAP_PASSWORD"),
                security=self.imap_security, folder=self.imap_folder,
                done_folder=self.imap_done_folder, only_unseen=self.imap_only_unseen,
                timeout=self.connector_timeout), retry=self.retry())
        if self.mail_source == "graph":
            tenant = _required(self.graph_tenant, "graph_tenant", "CASEWORK_GRAPH_TENANT")
            if self.graph_client_secret is None and self.graph_certificate_path is None:
                raise MissingSetting("graph credentials: set CASEWORK_GRAPH_CLIENT_SECRET or "
                                     "CASEWORK_GRAPH_CERTIFICATE_PATH")
            auth = msal_token_source(
                f"{self.graph_authority_host.rstrip('/')}/{tenant}",
                _required(self.graph_client_id, "graph_client_id", "CASEWORK_GRAPH_CLIENT_ID"),
                client_secret=self.graph_client_secret.get_secret_value()
                if self.graph_client_secret else None,
                certificate_file=None if self.graph_client_secret
                else self.graph_certificate_path, timeout=self.connector_timeout)
            return GraphMailbox(GraphSettings(
                mailbox=_required(self.graph_mailbox, "graph_mailbox", "CASEWORK_GRAPH_MAILBOX"),
                folder=self.graph_folder, done_folder=self.graph_done_folder,
                graph_url=self.graph_url), auth, timeout=self.connector_timeout * 3,
                retry=self.retry())
        return self.mailbox(path)

    def person_registry_client(self, url: str | None = None) -> PersonRegistry:
        """Who the citizen is: the stand-in registry (default) or CPR via SF1520."""
        if self.person_registry != "sf1520":
            return self.registry(url)
        certificate: tuple[str, str] | str | None = None
        if self.sf1520_certificate is not None:
            certificate = (str(self.sf1520_certificate), str(self.sf1520_key)) \
                if self.sf1520_key else str(self.sf1520_certificate)
        context = InvocationContext(
            service_agreement_uuid=_required(self.sf1520_service_agreement_uuid,
                                             "sf1520_service_agreement_uuid",
                                             "CASEWORK_SF1520_SERVICE_AGREEMENT_UUID"),
            user_system_uuid=_required(self.sf1520_user_system_uuid, "sf1520_user_system_uuid",
                                       "CASEWORK_SF1520_USER_SYSTEM_UUID"),
            user_uuid=_required(self.sf1520_user_uuid, "sf1520_user_uuid",
                                "CASEWORK_SF1520_USER_UUID"),
            service_uuid=_required(self.sf1520_service_uuid, "sf1520_service_uuid",
                                   "CASEWORK_SF1520_SERVICE_UUID"))
        return Sf1520Client(_required(url or self.sf1520_url, "sf1520_url",
                                      "CASEWORK_SF1520_URL"), context,
                            certificate=certificate,
                            verify=str(self.sf1520_ca_bundle) if self.sf1520_ca_bundle else True,
                            timeout=self.connector_timeout, retry=self.retry())

    def building_registry(self) -> BbrClient | None:
        """BBR at Datafordeleren, or ``None`` when no BBR URL is configured."""
        if not self.bbr_graphql_url and not self.bbr_rest_url:
            return None
        key = _required(self.bbr_api_key, "bbr_api_key", "CASEWORK_BBR_API_KEY")
        return BbrClient(graphql_url=self.bbr_graphql_url, rest_url=self.bbr_rest_url,
                         api_key=key.get_secret_value(), timeout=self.connector_timeout,
                         retry=self.retry())

    def address_registry(self) -> DarClient | None:
        """DAR at Datafordeleren (address text -> husnummer id, for BBR), or ``None`` when BBR
        is off. Without ``CASEWORK_DAR_GRAPHQL_URL`` it is the DAR service beside BBR's
        GraphQL service (``.../BBR/v1`` -> ``.../DAR/v1``), with the same API key."""
        if not self.bbr_graphql_url and not self.bbr_rest_url:
            return None
        url = self.dar_graphql_url
        if not url and self.bbr_graphql_url and self.bbr_graphql_url.rstrip("/").endswith(
                "/BBR/v1"):
            url = self.bbr_graphql_url.rstrip("/")[: -len("/BBR/v1")] + "/DAR/v1"
        key = _required(self.bbr_api_key, "bbr_api_key", "CASEWORK_BBR_API_KEY")
        return DarClient(_required(url, "dar_graphql_url", "CASEWORK_DAR_GRAPHQL_URL"),
                         api_key=key.get_secret_value(), timeout=self.connector_timeout,
                         retry=self.retry())

    def mailbox(self, path: str | Path | None = None) -> DropFolderMailbox:
        folder = Path(_required(path or self.mailbox_path, "mailbox_path",
                                "CASEWORK_MAILBOX_PATH"))
        if not folder.is_dir():
            raise MissingSetting(f"mailbox_path: {folder} is not a folder")
        return DropFolderMailbox(folder)


def _parse_templates(value: str) -> dict[str, int]:
    """``building_permit=12,general=3`` or JSON ``{"building_permit": 12}``."""
    if not value.strip():
        return {}
    if value.strip().startswith("{"):
        parsed = json.loads(value)
        return {str(k): int(v) for k, v in parsed.items()}
    pairs = [part.split("=", 1) for part in value.split(",") if part.strip()]
    if any(len(pair) != 2 or not pair[1].strip().isdigit() for pair in pairs):
        raise ValueError("expected case_type=template_id pairs, e.g. building_permit=12,general=3")
    return {k.strip(): int(v) for k, v in pairs}


def _required(value: T | None, parameter: str, variable: str) -> T:
    if value is None or value == "":
        raise MissingSetting(f"{parameter}: not set (flow parameter or environment {variable})")
    return value


def connector_settings() -> ConnectorSettings:
    """Read fresh each run, so a deployment picks up a rotated token without a restart."""
    return ConnectorSettings()
