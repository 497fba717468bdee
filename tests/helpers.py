"""Small helpers the test folders share (fixtures live in the conftest files)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

#: a one-object package the org, overlay and CLI tests build on
LEAD = """
label: {en: Lead, zh-CN: 线索}
plural_label: {en: Leads, zh-CN: 线索}
fields:
  name: {type: text, label: {en: Name, zh-CN: 姓名}}
  phone: {type: phone, label: {en: Phone, zh-CN: 电话}}
"""


def label(text: str) -> dict[str, str]:
    """The same text in both languages (tests that do not read the translation)."""
    return {"en": text, "zh-CN": text}


def org_settings(request: Any, tmp_path: Path, package: Path, **extra: Any) -> Iterator[dict[str, Any]]:
    """The body of a ``settings`` fixture parametrised over sqlite/postgresql: app settings for
    ``package`` (a folder of the metadata path), a platform schema of the test's own on
    PostgreSQL, and every schema ending in the test's suffix dropped afterwards."""
    suffix = uuid.uuid4().hex[:8]
    values = {"PACKAGES": package.name, "METADATA_PATH": str(package.parent), "PLUGINS": "", "OVERLAY_DIR": "",
              "PASSWORD_PROFILE": "CHEAPEST", "SUFFIX": suffix, **extra}
    if request.param == "sqlite":
        yield {**values, "DATABASE_URL": f"sqlite:///{tmp_path / 'instance' / 'tessera.db'}"}
        return
    url = request.getfixturevalue("postgres_available")
    if url is None:
        pytest.skip("set TESSERA_TEST_DATABASE_URL to run against PostgreSQL")
    try:
        yield {**values, "DATABASE_URL": url, "PLATFORM_SCHEMA": f"t_{suffix}"}
    finally:
        drop_test_schemas(url, suffix)


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
