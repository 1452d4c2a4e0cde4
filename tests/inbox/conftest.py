"""Fixtures for the inbox: a migrated SQLite database with demo users, tasks and clients."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from inbox_helpers import login, make_task, settings
from sqlalchemy import Engine
from starlette.testclient import TestClient

from casework.inbox.app import create_app
from casework.inbox.seed import seed_demo_users


@pytest.fixture
def engine(db_engine: Engine) -> Engine:
    seed_demo_users(db_engine)
    return db_engine


@pytest.fixture
def app(engine: Engine) -> FastAPI:
    return create_app(settings(), engine=engine)


@pytest.fixture
def as_user(app: FastAPI) -> Callable[..., TestClient]:
    return lambda user_id, **headers: login(app, user_id, **headers)


@pytest.fixture
def task_factory(engine: Engine) -> Callable[..., str]:
    return lambda **kw: make_task(engine, **kw)
