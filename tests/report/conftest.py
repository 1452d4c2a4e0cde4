"""Fixtures for the report tests (data and helpers live in ``report_helpers``)."""

from __future__ import annotations

import pytest
from report_helpers import LEDGER, insert
from sqlalchemy import Engine


@pytest.fixture
def ledger(db_engine: Engine) -> Engine:
    insert(db_engine, LEDGER)
    return db_engine
