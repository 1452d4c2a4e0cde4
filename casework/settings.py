"""Runtime configuration, read from the environment (prefix ``CASEWORK_``) and nothing else.

One object so every part (runtime, ledger, CLI, later the inbox) agrees on where data lives.
"""

from __future__ import annotations

from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CASEWORK_", extra="ignore")

    data_dir: Path = Field(
        default=Path(".casework"),
        description="Where the embedded SQLite database and local keys live.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; defaults to a SQLite file in data_dir. "
        "PostgreSQL: postgresql+psycopg://user:pw@host/db",
    )
    policy_dir: Path = Field(default=Path("policies"), description="Folder of policy YAML files.")
    pseudonym_key: SecretStr | None = Field(
        default=None,
        description="Secret for pseudonymising case ids. Must be the same on every machine of "
        "one installation; when unset a key is generated once in data_dir.",
    )
    auto_migrate: bool = Field(
        default=True, description="Bring the database schema up to date when a flow starts."
    )
    language: str = Field(default="da", description="Default language for texts: da, en or nb.")
    municipality: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$",
        description="Whose caseworkers' decisions this installation learns from: the flows "
        "keep confirmed suggestions under examples/<municipality>/ and load the model "
        "retrained from them. Unset: one shared store.",
    )
    starter_examples: bool = Field(
        default=True,
        description="Journal placement also learns from the project's written starter texts "
        "(citizen letters, case titles and notes labelled with KLE subjects), beside the "
        "municipality's own confirmed choices. Turn off to rank from the KLE file and your "
        "own examples only.",
    )
    hours_per_fte: float = Field(default=1667.0, gt=0)
    signoff_wait: Literal["record", "pause", "suspend"] = Field(
        default="record",
        description="How a flow waits for a caseworker: 'record' stores the task and goes on "
        "with other cases; 'pause' waits in process (local runs); 'suspend' ends the process and "
        "the run resumes from its cached steps (deployments: holds no process for days).",
    )
    signoff_max_wait_hours: float = Field(
        default=24 * 14, gt=0, description="Longest wait when a step has no deadline."
    )
    require_activated_policy: bool = Field(
        default=False,
        description="Refuse to run a flow whose policy file is not the version activated with "
        "'casework policy activate' (which runs its scenarios first). Turn on in production.",
    )
    max_concurrency: int = Field(
        default=4, ge=1, le=64,
        description="Work items one flow run processes at the same time (threads).",
    )
    flow_concurrency: dict[str, int] = Field(
        default_factory=dict,
        description='Per-flow override of max_concurrency, JSON: {"journal_placement": 2}.',
    )
    item_lease_seconds: float = Field(
        default=300.0, gt=0,
        description="How long a worker holds a work item before another may take it over "
        "(renewed while the item is processed; a crashed worker's lease runs out).",
    )
    item_max_attempts: int = Field(
        default=3, ge=1, description="Failed attempts before a work item goes to a person.",
    )
    item_retry_seconds: float = Field(
        default=30.0, ge=0,
        description="Wait before a failed work item is tried again; doubles per attempt.",
    )
    item_task_runs: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="Show each work item as a Prefect task run whose state says how it ended. "
        "'auto': for runs of up to item_task_runs_max items (continuations, scheduled runs); "
        "bigger batches run without them (each task run costs the Prefect server more than "
        "the step itself), their items in the run's log and artifact. 'on'/'off': always/never.",
    )
    item_task_runs_max: int = Field(default=100, ge=0)
    inbox_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where caseworkers open the sign-off inbox (its public address): links in "
        "Prefect's resume form and savings artifacts point there.",
    )
    retention_days: int = Field(
        default=183,
        description="Days after a decision before `casework retention apply` erases the "
        "personal data of a sign-off task. At least 183 (6 months: AI Act Art. 12 and 26(6)); "
        "the audit log and the pseudonymised ledger are never erased.",
    )

    @field_validator("municipality", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        """``CASEWORK_MUNICIPALITY=`` (left empty) means none, as the suggest CLI reads it."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("item_task_runs", mode="before")
    @classmethod
    def _on_off(cls, value: object) -> object:
        if isinstance(value, bool):
            return "on" if value else "off"
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
            return "on" if value.lower() in ("true", "1", "yes") else "off"
        return value

    @cached_property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'casework.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    """Tests and the CLI change the environment; this makes the next read see it."""
    get_settings.cache_clear()
