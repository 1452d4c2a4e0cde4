"""Where the flows find the outside systems: URLs and paths from flow parameters or the
environment (prefix ``CASEWORK_``), tokens from the environment only, never from files or
flow parameters (Prefect stores parameters with every run).

    CASEWORK_CASE_SYSTEM_URL=https://esdh.example.dk/api  CASEWORK_CASE_SYSTEM_TOKEN=...
    CASEWORK_REGISTRY_URL=https://registry.example.dk      CASEWORK_REGISTRY_TOKEN=...
    CASEWORK_MAILBOX_PATH=/srv/casework/post-drop          CASEWORK_ROUTER_MODEL=/srv/models/router
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from connectors.case_system import CaseSystemClient
from connectors.http import RetryPolicy
from connectors.mailbox import DropFolderMailbox
from connectors.registry import RegistryClient

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

    def retry(self) -> RetryPolicy:
        wait = self.connector_initial_wait
        return RetryPolicy(attempts=self.connector_attempts, initial_wait=wait,
                           max_wait=max(wait, 8.0 if wait >= 0.5 else wait * 8),
                           jitter=min(0.5, wait), retry_after_cap=30.0 if wait >= 0.5 else 1.0)

    def case_system(self, url: str | None = None, *,
                    token: SecretStr | None = None) -> CaseSystemClient:
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

    def mailbox(self, path: str | Path | None = None) -> DropFolderMailbox:
        folder = Path(_required(path or self.mailbox_path, "mailbox_path",
                                "CASEWORK_MAILBOX_PATH"))
        if not folder.is_dir():
            raise MissingSetting(f"mailbox_path: {folder} is not a folder")
        return DropFolderMailbox(folder)


def _required(value: T | None, parameter: str, variable: str) -> T:
    if value is None or value == "":
        raise MissingSetting(f"{parameter}: not set (flow parameter or environment {variable})")
    return value


def connector_settings() -> ConnectorSettings:
    """Read fresh each run, so a deployment picks up a rotated token without a restart."""
    return ConnectorSettings()
