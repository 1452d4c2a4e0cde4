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
    return f"casework: postgres tests {'on' if os.environ.get('CASEWORK_TEST_POSTGRES_URL') else 'off'}"
