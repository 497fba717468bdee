"""The overlay in running processes: an applied change is served at once by the process that
applied it and, after METADATA_REFRESH_SECONDS, by every other one, without a restart; each org
has its own overlay; the default org's OVERLAY_DIR folder comes before its stored overlay."""

from __future__ import annotations


import pytest
import sqlalchemy as sa

from tessera.app import ORGS_KEY, create_app, current_records, current_registry
from tessera.orgs import OrgDirectory, create_org
from tessera.security.store import PlatformStore
from tessera.storage.overlay import DocumentChange
from tessera.storage.sync import deploy
from tests.helpers import LEAD, label, org_settings

TICKET = DocumentChange.upsert("object", "ticket", {
    "label": label("Ticket"), "plural_label": label("Tickets"),
    "fields": {"name": {"type": "text", "label": label("Name")},
               "lead": {"type": "lookup", "target": "lead", "label": label("Lead")}}})


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request, tmp_path, write_package):
    shop = write_package("shop", {"objects/lead.yaml": LEAD})
    yield from org_settings(request, tmp_path, shop, METADATA_REFRESH_SECONDS=0)


def open_directory(settings, **overrides) -> OrgDirectory:
    merged = {**settings, **overrides}
    return OrgDirectory(merged, store=PlatformStore.from_settings(merged))


@pytest.fixture
def directories(settings):
    opened: list[OrgDirectory] = []

    def make(**overrides) -> OrgDirectory:
        opened.append(open_directory(settings, **overrides))
        return opened[-1]

    yield make
    for directory in opened:
        directory.close()
        directory.store.dispose()


def org_name(settings, base: str) -> str:
    return f"{base}_{settings['SUFFIX']}"


def test_the_process_that_applies_a_change_serves_it_at_once(settings, directories):
    org = org_name(settings, "a")
    create_org(settings, org)
    directory = directories(METADATA_REFRESH_SECONDS=3600)  # no look at the database: the apply itself rebuilds
    before = directory.get(org)
    assert "ticket" not in before.registry.objects

    directory.metadata(org).apply([TICKET], expected_versions={"object/ticket": 0}, actor="alice", summary="add")

    runtime = directory.get(org)
    assert runtime is not before and runtime.db is before.db  # rebuilt on the same database
    lead = runtime.records.create("lead", {"name": "Ada"})
    created = directory.records(org).create("ticket", {"name": "Printer jam", "lead": lead["id"]})
    assert directory.records(org).get("ticket", created["id"])["lead"] == lead["id"]


def test_other_processes_pick_the_change_up_on_their_next_look(settings, directories):
    org = org_name(settings, "a")
    create_org(settings, org)
    worker_1, worker_2 = directories(), directories()  # two gunicorn workers
    lazy = directories(METADATA_REFRESH_SECONDS=3600)
    for directory in (worker_1, worker_2, lazy):
        assert "ticket" not in directory.get(org).registry.objects

    worker_1.metadata(org).apply([TICKET], expected_versions={"object/ticket": 0}, actor="alice", summary="add")

    assert "ticket" in worker_2.get(org).registry.objects
    assert worker_2.records(org).create("ticket", {"name": "From worker 2"})["id"] == 1
    assert "ticket" not in lazy.get(org).registry.objects  # until its next look, an hour away
    lazy.refresh_seconds = 0
    assert "ticket" in lazy.get(org).registry.objects


def test_an_unchanged_org_is_not_rebuilt(settings, directories):
    org = org_name(settings, "a")
    create_org(settings, org)
    directory = directories()
    first = directory.get(org)
    assert directory.get(org) is first
    assert first.registry.revision is not None


def test_each_org_has_its_own_overlay(settings, directories):
    a, b = org_name(settings, "a"), org_name(settings, "b")
    create_org(settings, a)
    create_org(settings, b)
    directory = directories()
    directory.metadata(a).apply([TICKET], expected_versions={"object/ticket": 0}, actor="alice", summary="add")

    assert "ticket" in directory.get(a).registry.objects
    assert "ticket" not in directory.get(b).registry.objects
    assert directory.metadata(b).documents() == [] and directory.metadata(b).history() == []
    with directory.get(b).db.engine.connect() as conn:
        assert "ticket" not in sa.inspect(conn).get_table_names(schema=directory.get(b).db.schema)


def test_the_default_orgs_folder_overlay_comes_before_its_stored_overlay(settings, directories, tmp_path):
    if not settings["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("org_default is shared on the test server; the merge order does not depend on the database")
    folder = tmp_path / "overlay"
    (folder / "objects").mkdir(parents=True)
    (folder / "objects" / "lead.yaml").write_text(
        "fields:\n  phone: {label: {en: Mobile, zh-CN: 手机}}\n  wechat: {type: text, label: {en: WeChat, zh-CN: 微信}}\n",
        encoding="utf-8")
    directory = directories(OVERLAY_DIR=str(folder))
    runtime = directory.get("default")
    deploy(runtime.registry, runtime.db)
    assert str(runtime.registry.object("lead").field("phone").label) == "Mobile"

    changes = directory.metadata("default")
    changes.apply([DocumentChange.upsert("object", "lead", {"fields": {"phone": {"label": label("Cell")}}})],
                  expected_versions={"object/lead": 0}, actor="alice", summary="rename phone")
    lead = directory.get("default").registry.object("lead")
    assert str(lead.field("phone").label) == "Cell" and "wechat" in lead.fields
    assert [d.name for d in changes.documents()] == ["lead"]  # the folder's documents are not stored


def test_the_apps_screens_see_the_default_orgs_new_metadata_without_a_restart(tmp_path, write_package):
    shop = write_package("shop", {"objects/lead.yaml": LEAD})
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "PACKAGES": "shop", "METADATA_PATH": str(shop.parent),
                      "PLUGINS": "", "OVERLAY_DIR": "", "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}"})
    orgs = app.extensions[ORGS_KEY]
    deploy(orgs.get("default").registry, orgs.get("default").db)
    orgs.metadata("default").apply([TICKET], expected_versions={"object/ticket": 0}, actor="alice", summary="add")
    with app.test_request_context("/"):
        assert "ticket" in current_registry().objects
        assert current_records().create("ticket", {"name": "Seen"})["id"] == 1
    orgs.close()
    app.extensions["tessera.platform"].dispose()
