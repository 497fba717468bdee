"""Fixtures for identity: a platform store on both databases, settings for commands, an app
with a small package and a signed-up user (``redis_url`` is shared: tests/conftest.py)."""

from __future__ import annotations

import re
import uuid

import pytest
from tessera.security.passwords import make_hasher
from tessera.security.store import PlatformStore
from tests.helpers import drop_test_schemas

PASSWORD = "correct horse battery"

SHOP_LEAD = """
label: {en: Lead, zh-CN: 线索}
plural_label: {en: Leads, zh-CN: 线索}
fields:
  name: {type: text, label: {en: Name, zh-CN: 姓名}}
"""


@pytest.fixture
def store(database) -> PlatformStore:
    """A platform store on an empty SQLite file or PostgreSQL schema; argon2 at its cheapest."""
    return PlatformStore(database, hasher=make_hasher("CHEAPEST"))


@pytest.fixture
def shop(write_package):
    """A one-object package, so orgs deploy in milliseconds rather than L2C's second."""
    return write_package("shop", {"objects/lead.yaml": SHOP_LEAD})


@pytest.fixture(params=["sqlite", "postgresql"])
def platform_settings(request, tmp_path, shop):
    """Settings for commands and org directories: SQLite files under tmp_path, or PostgreSQL
    with a platform schema of its own; org schemas made by the test are dropped afterwards
    (tests name their orgs with ``settings["SUFFIX"]``)."""
    suffix = uuid.uuid4().hex[:8]
    settings = {"PACKAGES": "shop", "METADATA_PATH": str(shop.parent), "PLUGINS": "", "OVERLAY_DIR": "",
                "PASSWORD_PROFILE": "CHEAPEST", "SECRET_KEY": "test", "SUFFIX": suffix}
    if request.param == "sqlite":
        settings["DATABASE_URL"] = f"sqlite:///{tmp_path / 'instance' / 'tessera.db'}"
        yield settings
        return
    url = request.getfixturevalue("postgres_available")
    if url is None:
        pytest.skip("set TESSERA_TEST_DATABASE_URL to run against PostgreSQL")
    settings.update(DATABASE_URL=url, PLATFORM_SCHEMA=f"t_{suffix}")
    try:
        yield settings
    finally:
        drop_test_schemas(url, suffix)


@pytest.fixture
def cli_env(platform_settings) -> dict[str, str | None]:
    """The environment a `tessera` command needs to use ``platform_settings``."""
    env = {f"TESSERA_{key}": str(value) for key, value in platform_settings.items() if key != "SUFFIX"}
    env["TESSERA_OVERLAY_DIR"] = None
    return env


@pytest.fixture
def secure_app(tmp_path, shop):
    """The app on SQLite with the small package; ``alice`` (sales_rep) in org ``default``."""
    from tessera.app import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "test", "PASSWORD_PROFILE": "CHEAPEST",
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'instance' / 'tessera.db'}",
                      "PACKAGES": "shop", "METADATA_PATH": str(shop.parent), "PLUGINS": "", "OVERLAY_DIR": ""})
    store = app.extensions["tessera.platform"]
    store.create_user("default", "alice", PASSWORD, "sales_rep", name="Alice Wang", email="alice@example.com",
                      locale="en", time_zone="Asia/Shanghai")
    return app


@pytest.fixture
def platform(secure_app) -> PlatformStore:
    return secure_app.extensions["tessera.platform"]


_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def _csrf_token(client, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    return _CSRF.search(page).group(1)


@pytest.fixture
def csrf():
    """``csrf(client, path="/login")``: the session's CSRF token, read from a page as a browser would."""
    return _csrf_token


@pytest.fixture
def sign_in():
    """``sign_in(client, username="alice", password=PASSWORD, org="default")``: POST /login with CSRF."""

    def post(client, username: str = "alice", password: str = PASSWORD, org: str = "default", **extra):
        token = _csrf_token(client)
        return client.post("/login", data={"csrf_token": token, "org": org, "username": username,
                                           "password": password, **extra})

    return post
