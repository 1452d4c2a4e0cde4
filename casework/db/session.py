"""Engine and session factory. SQLite gets WAL and immediate write locks so that concurrent
writers (Prefect task threads, the inbox) queue instead of failing or interleaving."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from casework.settings import get_settings


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # hide_parameters: a database error's text (which may reach a log or Prefect) never
        # carries the values (letters, notes) of the statement that failed.
        return create_engine(url, pool_pre_ping=True, hide_parameters=True)

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                           hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # let SQLAlchemy's "begin" hook issue BEGIN itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")  # survives a process crash; WAL keeps it fast
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn) -> None:  # type: ignore[no-untyped-def]
        # Writers take the lock up front: read-then-write transactions (audit chain, decisions)
        # then serialise cleanly instead of failing with "database is locked" on upgrade.
        # Read-only sessions (see ``reading``) begin deferred and run beside writers under WAL.
        readonly = conn.get_execution_options().get("casework_readonly", False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    return make_engine(url)


def get_engine() -> Engine:
    return engine_for(get_settings().effective_database_url)


def session_factory(engine: Engine | None = None) -> sessionmaker[Session]:
    return sessionmaker(bind=engine or get_engine(), expire_on_commit=False)


@contextmanager
def reading(engine: Engine | None = None) -> Iterator[Session]:
    """A read-only unit of work that never blocks writers (and is never committed)."""
    eng = (engine or get_engine()).execution_options(casework_readonly=True)
    with Session(bind=eng, expire_on_commit=False) as session:
        yield session  # closing the session rolls the read transaction back


@contextmanager
def transaction(engine: Engine | None = None) -> Iterator[Session]:
    """One unit of work: committed on success, rolled back on any error."""
    with session_factory(engine)() as session, session.begin():
        yield session
