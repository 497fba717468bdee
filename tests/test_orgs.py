"""Orgs are tenants: each has its own records (PostgreSQL schema or SQLite file), numbered on
their own; an org's record service never sees another org's records; unknown orgs are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from tessera.metadata.errors import MetadataError
from tessera.orgs import OrgDirectory, UnknownOrg, create_org
from tessera.records.service import Actor
from tessera.security.errors import IdentityError
from tessera.security.store import PlatformStore
from tessera.storage.sync import SyncError, open_org
from tests.helpers import org_settings

LEAD = """
label: {en: Lead, zh-CN: 线索}
plural_label: {en: Leads, zh-CN: 线索}
fields:
  name: {type: text, label: {en: Name, zh-CN: 姓名}}
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request, tmp_path, write_package):
    """Settings with a one-object package (see tests.helpers.org_settings)."""
    yield from org_settings(request, tmp_path, write_package("shop", {"objects/lead.yaml": LEAD}))


@pytest.fixture
def directory(settings):
    orgs = OrgDirectory(settings, store=PlatformStore.from_settings(settings))
    yield orgs
    orgs.close()
    orgs.store.dispose()


def names(settings, *bases):
    return [f"{base}_{settings['SUFFIX']}" for base in bases]


def test_two_orgs_number_their_records_apart_and_each_sees_only_its_own(settings, directory):
    a, b = names(settings, "a", "b")
    create_org(settings, a)
    create_org(settings, b)
    in_a, in_b = directory.get(a), directory.get(b)

    from_a = in_a.records.create("lead", {"name": "Lead of A"})
    from_b = in_b.records.create("lead", {"name": "Lead of B"})

    assert from_a["id"] == from_b["id"] == 1
    assert in_a.records.get("lead", 1)["name"] == "Lead of A"
    assert in_b.records.get("lead", 1)["name"] == "Lead of B"
    assert [r["name"] for r in in_a.records.query("lead").rows] == ["Lead of A"]
    assert [r["name"] for r in in_b.records.query("lead").rows] == ["Lead of B"]
    in_b.records.create("lead", {"name": "Second of B"})
    assert in_a.records.count("lead").value == 1 and in_b.records.count("lead").value == 2
    assert in_a.records.org == a and in_b.records.org == b


def test_the_record_service_is_chosen_by_the_actors_org(settings, directory):
    a, b = names(settings, "a", "b")
    create_org(settings, a)
    create_org(settings, b)
    store = directory.store
    alice = store.create_user(a, "alice", "correct horse battery", "sales_rep")
    bob = store.create_user(b, "alice", "correct horse battery", "sales_rep")

    assert directory.for_actor(alice.actor()) is directory.get(a).records
    assert directory.for_actor(bob.actor()) is directory.get(b).records
    with pytest.raises(UnknownOrg):
        directory.for_actor(Actor(id=99, org="nowhere"))


def test_each_orgs_records_live_in_their_own_schema_or_file(settings, directory):
    [a] = names(settings, "a")
    created = create_org(settings, a, label="Org A")
    runtime = directory.get(a)
    if runtime.db.is_sqlite:
        platform_file = Path(settings["DATABASE_URL"][len("sqlite:///"):])
        assert Path(runtime.db.engine.url.database) == platform_file.parent / "orgs" / f"{a}.db"
        assert created.location == f"SQLite file {platform_file.parent / 'orgs' / f'{a}.db'}"
        with directory.store.db.engine.connect() as conn:  # the platform file holds no records
            assert "lead" not in sa.inspect(conn).get_table_names()
    else:
        assert runtime.db.schema == f"org_{a}" and created.location == f"PostgreSQL schema org_{a}"
        with runtime.db.engine.connect() as conn:
            assert "lead" in sa.inspect(conn).get_table_names(schema=f"org_{a}")
            assert "tessera_users" in sa.inspect(conn).get_table_names(schema=settings["PLATFORM_SCHEMA"])
    assert directory.store.org(a).label == "Org A"


def test_an_unknown_or_deactivated_org_is_refused(settings, directory):
    [a] = names(settings, "a")
    with pytest.raises(UnknownOrg) as raised:
        directory.get("nowhere")
    assert raised.value.message("zh-CN") == "不存在名为 nowhere 的组织。"
    with pytest.raises(SyncError, match="unknown org 'nowhere'"):
        open_org(settings, "nowhere")
    with pytest.raises(SyncError, match="not an org name"):
        open_org(settings, "../etc")

    create_org(settings, a)
    directory.store.set_org_active(a, False)
    with pytest.raises(UnknownOrg, match="deactivated"):
        directory.get(a)
    with pytest.raises(SyncError, match="deactivated"):
        open_org(settings, a)


def test_creating_an_org_refuses_a_bad_or_taken_name_and_leaves_nothing_when_metadata_is_broken(settings, directory):
    [a] = names(settings, "a")
    with pytest.raises(IdentityError):
        create_org(settings, "Has Spaces")
    create_org(settings, a)
    with pytest.raises(IdentityError, match="already exists"):
        create_org(settings, a)
    [b] = names(settings, "b")
    with pytest.raises(MetadataError):
        create_org(settings, b, templates=["no_such_template"])
    assert directory.store.org(b) is None


def test_the_default_org_is_created_when_first_opened(settings, directory):
    engine = directory.store.db.engine
    with engine.connect() as conn:  # on PostgreSQL, org_default is shared: leave it as it was
        existed = engine.dialect.name == "sqlite" or sa.inspect(conn).has_schema("org_default")
    assert directory.store.org("default") is None
    db, registry = open_org(settings)
    try:
        assert directory.store.org("default").name == "default"
        assert "lead" in registry.objects
    finally:
        if not existed:
            db.drop_schema()
        db.dispose()
