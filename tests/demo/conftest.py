"""Shared fixtures of the demo loader's tests: the L2C registry, a fixed "today", and loading."""

from __future__ import annotations

import datetime as dt

import pytest
from tessera.metadata.registry import build_org_registry

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
    from tests.conftest import open_test_database

    yield from open_test_database(request, tmp_path_factory.mktemp("demo"))
