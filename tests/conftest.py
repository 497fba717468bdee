"""Shared fixtures: the app, its test client and CLI runner, and a package writer."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from tessera.app import create_app


@pytest.fixture
def app(tmp_path):
    return create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}"})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


PackageWriter = Callable[..., Path]


@pytest.fixture
def write_package(tmp_path: Path) -> PackageWriter:
    """Write a package folder: ``write_package("base", {"objects/a.yaml": "..."}, depends=[...])``."""

    def write(name: str, files: dict[str, str], *, version: str = "1.0.0",
              depends: list[str] | None = None, extends: str | None = None, root: Path | None = None) -> Path:
        folder = (root or tmp_path) / name
        folder.mkdir(parents=True, exist_ok=True)
        manifest = [f"name: {name}", f"version: {version}", f"label: {{en: {name}, zh-CN: {name}}}"]
        if depends:
            manifest.append(f"depends: [{', '.join(repr(d) for d in depends)}]")
        if extends:
            manifest.append(f"extends: {extends}")
        (folder / "package.yaml").write_text("\n".join(manifest) + "\n", encoding="utf-8")
        for relative, text in files.items():
            path = folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return folder

    return write


# ------------------------------------------------------------------------------ databases
# Storage tests run on SQLite always, and on PostgreSQL when TESSERA_TEST_DATABASE_URL is set.
# Under CI=true an unreachable server fails the run instead of skipping.

import os
import uuid

DATABASE_KINDS = ["sqlite", "postgresql"]


def _postgres_url() -> str | None:
    from tessera.storage.database import normalise_url

    url = os.environ.get("TESSERA_TEST_DATABASE_URL")
    return normalise_url(url) if url else None


@pytest.fixture(scope="session")
def postgres_available() -> str | None:
    url = _postgres_url()
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but TESSERA_TEST_DATABASE_URL is not set")
        return None
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means the server is not usable
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {url} is unreachable under CI=true: {exc}")
        pytest.skip(f"PostgreSQL at {url} is unreachable: {exc}")
    return url


@pytest.fixture(params=DATABASE_KINDS)
def database(request, tmp_path):
    """An empty org database: a SQLite file, or a fresh PostgreSQL schema dropped afterwards."""
    yield from open_test_database(request, tmp_path)


def open_test_database(request, folder):
    """The body of every database fixture (per test, or per module in tests/demo)."""
    from tessera.storage.database import Database

    if request.param == "sqlite":
        db = Database.connect(f"sqlite:///{folder / 'org.db'}")
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


@pytest.fixture(scope="session")
def redis_url() -> str:
    """TESSERA_TEST_REDIS_URL when the server answers; skipped otherwise (failed under CI=true),
    like TESSERA_TEST_DATABASE_URL. Used by the rate-limit and background-job tests."""
    url = os.environ.get("TESSERA_TEST_REDIS_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but TESSERA_TEST_REDIS_URL is not set")
        pytest.skip("set TESSERA_TEST_REDIS_URL to run the tests that need Redis")
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        client.ping()
        client.close()
    except Exception as exc:  # noqa: BLE001 - any failure means the server is not usable
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {url} is unreachable under CI=true: {exc}")
        pytest.skip(f"Redis at {url} is unreachable: {exc}")
    return url


# ------------------------------------------------------------------------------ the demo company
# Screens are tested against the demo company (tests/web with Flask's client, tests/browser
# with Chromium): built once per run at a small scale, then copied for each consumer.

import shutil

DEMO_PASSWORD = "tessera-demo"
DEMO_SCALE = 0.05


@pytest.fixture(scope="session")
def demo_site_factory(tmp_path_factory):
    """``build(name) -> Flask app``: an app over its own copy of a SQLite org holding the L2C
    package, the demo company (``DEMO_SCALE``) and the demo users (``tessera.demo.DEMO_USERS``:
    admin, sales reps such as zhang.wei, managers, marketing, finance), all with the password
    ``DEMO_PASSWORD``. The demo is loaded once per run; each call copies its files."""
    built: dict[str, Path] = {}

    def settings_for(folder: Path) -> dict:
        return {"TESTING": True, "SECRET_KEY": "demo-site", "PASSWORD_PROFILE": "CHEAPEST", "DEMO_PASSWORD": DEMO_PASSWORD,
                "DATABASE_URL": f"sqlite:///{folder / 'tessera.db'}", "LOGIN_RATE_LIMIT": "1000 per minute"}

    def original() -> Path:
        if "original" not in built:
            from tessera.demo import load_demo
            from tessera.demo.command import ensure_demo_users

            folder = tmp_path_factory.mktemp("demo-original")
            app = create_app(settings_for(folder))
            service = app.extensions["tessera.records"]
            load_demo(service.registry, service.db, scale=DEMO_SCALE)
            ensure_demo_users(dict(app.config), "default")
            service.db.dispose()
            app.extensions["tessera.platform"].dispose()
            built["original"] = folder
        return built["original"]

    def build(name: str):
        source = original()
        folder = tmp_path_factory.mktemp(f"demo-{name}")
        shutil.copytree(source, folder, dirs_exist_ok=True)
        return create_app(settings_for(folder))

    return build


# ------------------------------------------------------------------------------ script payloads

#: breaks out of an attribute and of the text, then runs: each sets window.__xss when it runs
SCRIPT_PAYLOAD = '"><script>window.__xss=1</script><img src=x onerror=window.__xss=1>'
SHORT_PAYLOAD = '"><img src=x onerror=__xss=1>'


@pytest.fixture(scope="session")
def store_script_payloads():
    """``store(records, actor, marker) -> (lead, payloads)``: a lead (through the record
    service) whose every writable text field holds a script payload that sets ``window.__xss``
    if it ever runs, each starting with ``marker`` so a search finds it; ``payloads`` maps
    field names to what was stored."""

    def store(records, actor, marker: str):
        obj = records.registry.object("lead")
        payloads = {}
        for field in obj.fields.values():
            if field.type not in ("text", "textarea") or field.system or field.computed or field.read_only:
                continue
            for payload in (SCRIPT_PAYLOAD, SHORT_PAYLOAD):
                value = f"{marker}{payload}"
                if field.max_length is None or len(value) <= field.max_length:
                    payloads[field.name] = value
                    break
        payloads.pop("credit_code", None)  # a format rule refuses anything but a credit code
        values = {**payloads, "status": "in_progress", "phone": "+86 13900009999"}
        return records.create("lead", values, actor=actor), payloads

    return store
