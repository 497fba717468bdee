"""Small helpers the test folders share (fixtures live in the conftest files)."""

from __future__ import annotations

import sqlalchemy as sa


def drop_test_schemas(url: str, suffix: str) -> None:
    """Drop every PostgreSQL schema whose name ends with ``suffix`` (a test run's orgs and platform)."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            names = conn.execute(sa.text("select schema_name from information_schema.schemata "
                                         "where schema_name like :pattern"), {"pattern": f"%{suffix}"}).scalars()
            for name in list(names):
                conn.execute(sa.schema.DropSchema(name, cascade=True, if_exists=True))
    finally:
        engine.dispose()
