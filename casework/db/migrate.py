"""Schema migrations (Alembic), driven from code so ``casework db upgrade`` needs no ini file."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from casework.db.session import get_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head() or ""


def current_revision(engine: Engine | None = None) -> str | None:
    with (engine or get_engine()).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine | None = None, revision: str = "head") -> None:
    engine = engine or get_engine()
    cfg = _config()
    # Alembic runs DDL; on SQLite our engine's BEGIN IMMEDIATE hook applies too, which is fine.
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def is_up_to_date(engine: Engine | None = None) -> bool:
    return current_revision(engine) == head_revision()


def ensure_schema(engine: Engine | None = None) -> None:
    """Migrate if behind. Cheap when already current (one small query)."""
    if not is_up_to_date(engine):
        upgrade(engine)
