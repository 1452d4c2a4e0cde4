"""Shared fixtures: an isolated data dir and a migrated SQLite database per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from casework.db import migrate
from casework.db.session import engine_for
from casework.settings import reset_settings_cache

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def casework_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point every CASEWORK_* setting at a fresh temporary data dir."""
    data_dir = tmp_path / "data"
    monkeypatch.setenv("CASEWORK_DATA_DIR", str(data_dir))
    monkeypatch.delenv("CASEWORK_DATABASE_URL", raising=False)
    monkeypatch.setenv("CASEWORK_PSEUDONYM_KEY", "test-pseudonym-key")
    monkeypatch.setenv("CASEWORK_POLICY_DIR", str(REPO / "policies"))
    reset_settings_cache()
    yield data_dir
    reset_settings_cache()


@pytest.fixture
def db_engine(casework_env: Path) -> Engine:
    """A real, migrated SQLite file in the test's data dir (the same engine the code uses)."""
    from casework.settings import get_settings

    engine = engine_for(get_settings().effective_database_url)
    migrate.upgrade(engine)
    return engine


def pytest_report_header(config: pytest.Config) -> str:
    postgres = "on" if os.environ.get("CASEWORK_TEST_POSTGRES_URL") else "off"
    return f"casework: postgres tests {postgres}"


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prefect API server for the whole session (ephemeral, own PREFECT_HOME)."""
    home = tmp_path_factory.mktemp("prefect-home")
    os.environ["PREFECT_HOME"] = str(home)
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY
    from prefect.settings.context import temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with (prefect_test_harness(server_startup_timeout=90),
          temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})):
        yield str(PREFECT_API_URL.value())
        _drain_prefect_workers()


def _drain_prefect_workers() -> None:
    """Without this, interpreter exit can hang ~75 s waiting on log/event uploads."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.instance().drain()
    EventsWorker.drain_all()
