"""Shared fixtures of the demo loader's tests: the L2C registry, a fixed "today", and loading."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from tessera.metadata.registry import build_org_registry
from tessera.storage.database import Database

#: the demo is current on this date in every test (a Monday), so runs are comparable
TODAY = dt.date(2026, 3, 16)
SEED = 7


@pytest.fixture(scope="session")
def registry():
    return build_org_registry(["l2c"])


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_database(request, tmp_path_factory):
    """Like the ``database`` fixture of tests/conftest.py, but one per test module, so several
    tests can read one loaded demo: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        db = Database.connect(f"sqlite:///{tmp_path_factory.mktemp('demo') / 'org.db'}")
        yield db
        db.dispose()
        return
    url = request.getfixturevalue("postgres_available")
    if url is None:
        pytest.skip("set TESSERA_TEST_DATABASE_URL to run against PostgreSQL")
    db = Database.connect(url, schema=f"t_{uuid.uuid4().hex[:12]}")
    db.ensure_schema()
    try:
        yield db
    finally:
        db.drop_schema()
        db.dispose()
