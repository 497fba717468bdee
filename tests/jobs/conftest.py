"""Fixtures for the job tests: the probe plugin (tests/jobs/probe) installed as a distribution,
an org of the probe package on SQLite and PostgreSQL, a clock the tests move, and an app.

Each probe job writes one ``note`` carrying its key, so ``notes_by_key`` tells whether every
job took effect exactly once.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tests.helpers import drop_test_schemas

PROBE = Path(__file__).parent / "probe" / "tessera_jobs_probe"
PASSWORD = "correct horse battery"
#: the moment the tests' clock starts at (a Monday, 02:00 UTC)
START = dt.datetime(2026, 5, 4, 2, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def probe_site(tmp_path_factory) -> Path:
    """A folder holding the probe plugin as pip would install it: the package and a dist-info
    naming its entry point, so ``Plugins.load`` (here, or in a worker subprocess given the
    folder on PYTHONPATH) finds it like any installed plugin. Written by hand: nothing to build."""
    site = tmp_path_factory.mktemp("jobs-probe-site")
    shutil.copytree(PROBE, site / PROBE.name)
    info = site / "tessera_jobs_probe-1.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tessera-jobs-probe\nVersion: 1.0.0\n")
    (info / "entry_points.txt").write_text("[tessera]\njobs_probe = tessera_jobs_probe\n")
    return site


@pytest.fixture
def probe(probe_site, monkeypatch) -> Iterator[Path]:
    """The probe plugin visible to this test only (other tests load "every installed plugin")."""
    monkeypatch.syspath_prepend(str(probe_site))
    yield probe_site
    forget_probe_modules()


class Clock:
    """A clock the test moves by hand: ``clock()`` is now, ``clock.advance(seconds=...)``."""

    def __init__(self, start: dt.datetime = START) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@dataclass
class ProbeOrg:
    """An org of the probe package in one test database, with its job system (no app, no
    broker: jobs run in-process right after their commit)."""

    records: Any
    jobs: Any
    clock: Clock
    plugins: Any

    def job(self, key: str) -> Any:
        with self.records.db.read() as conn:
            return self.jobs.store(self.records).by_key(conn, key)

    def notes_by_key(self) -> dict[str, int]:
        return notes_by_key(self.records.db, self.records.schema.table("note"))


def notes_by_key(db: Any, note: sa.Table) -> dict[str, int]:
    """How many notes each job key wrote."""
    with db.read() as conn:
        return {key: count for key, count in conn.execute(
            sa.select(note.c.job_key, sa.func.count()).group_by(note.c.job_key))}


def make_jobs(records: Any, plugins: Any, clock: Clock, **settings: Any) -> Any:
    from tessera.jobs import Jobs, JobSettings

    return Jobs(JobSettings(**settings), job_types=plugins.job_types.values(),
                periodic=plugins.periodic_jobs.values(), records=lambda org: records,
                orgs=lambda: [records.org], clock=clock)


@pytest.fixture
def probe_org(probe, database, clock) -> ProbeOrg:
    """The probe package deployed to ``database`` (SQLite, or a PostgreSQL schema)."""
    from tessera.metadata.registry import build_org_registry
    from tessera.plugins import Plugins
    from tessera.records.service import RecordService
    from tessera.storage.sync import deploy

    plugins = Plugins.load("jobs_probe")
    registry = build_org_registry(["jobs_probe"], search_paths=plugins.metadata_packages,
                                  field_types=plugins.field_types, functions=plugins.functions)
    deploy(registry, database)
    records = RecordService(registry, database, plugins=plugins, clock=clock)
    return ProbeOrg(records, make_jobs(records, plugins, clock), clock, plugins)


# ------------------------------------------------------------------------------ the app

@dataclass
class JobsSite:
    """The app over the probe package, an org of its own with an admin and a clerk, and an
    API token each."""

    app: Any
    org: str
    settings: dict[str, Any]
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def records(self) -> Any:
        return self.app.extensions["tessera.orgs"].get(self.org).records

    @property
    def jobs(self) -> Any:
        return self.app.extensions["tessera.jobs"]

    def get(self, path: str, user: str = "root", **headers: str) -> Any:
        return self.app.test_client().get(path, headers={"Authorization": f"Bearer {self.tokens[user]}", **headers})


def site_settings(request: Any, tmp_path: Path, suffix: str) -> dict[str, Any]:
    """App settings on SQLite files under ``tmp_path`` or on PostgreSQL (a platform schema of
    the test's own; the caller drops every schema ending in ``suffix``)."""
    settings: dict[str, Any] = {"TESTING": True, "SECRET_KEY": "test", "PASSWORD_PROFILE": "CHEAPEST",
                                "PACKAGES": "jobs_probe", "PLUGINS": "jobs_probe", "OVERLAY_DIR": "", "METADATA_PATH": ""}
    if request.param == "sqlite":
        settings["DATABASE_URL"] = f"sqlite:///{tmp_path / 'instance' / 'tessera.db'}"
        return settings
    url = request.getfixturevalue("postgres_available")
    if url is None:
        pytest.skip("set TESSERA_TEST_DATABASE_URL to run against PostgreSQL")
    return {**settings, "DATABASE_URL": url, "PLATFORM_SCHEMA": f"t_{suffix}"}


def open_site(settings: dict[str, Any], suffix: str) -> JobsSite:
    """Create the app and the org ``jobs_<suffix>`` with its users."""
    from tessera.app import create_app
    from tessera.orgs import create_org

    app = create_app(settings)
    org = f"jobs_{suffix}"
    create_org(app.config, org, plugins=app.extensions["tessera.plugins"])
    site = JobsSite(app, org, settings)
    store = app.extensions["tessera.platform"]
    for username, role in (("root", "admin"), ("cleo", "clerk")):
        user = store.create_user(org, username, PASSWORD, role, locale="en")
        site.tokens[username] = store.create_token(user, "tests")[0]
    return site


def close_site(site: JobsSite, suffix: str) -> None:
    site.app.extensions["tessera.orgs"].close()
    site.app.extensions["tessera.platform"].dispose()
    url = site.settings["DATABASE_URL"]
    if url.startswith("postgresql"):
        drop_test_schemas(url, suffix)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request, tmp_path_factory, probe_site) -> Iterator[JobsSite]:
    """The app with no broker (jobs run eagerly, in-process), shared by a module's tests: each
    test names its jobs with a tag of its own (``tag``) and looks only at those."""
    suffix = uuid.uuid4().hex[:8]
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(probe_site))
        opened = open_site(site_settings(request, tmp_path_factory.mktemp("jobs-site"), suffix), suffix)
        try:
            yield opened
        finally:
            close_site(opened, suffix)
            forget_probe_modules()


@pytest.fixture
def tag() -> str:
    """A word unique to one test, to put in the keys of its jobs."""
    return f"t{uuid.uuid4().hex[:10]}"


def forget_probe_modules() -> None:
    for name in [m for m in sys.modules if m == "tessera_jobs_probe" or m.startswith("tessera_jobs_probe.")]:
        del sys.modules[name]
