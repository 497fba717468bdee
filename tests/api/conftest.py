"""One API per database for the whole session: the app, an org with L2C and the example
plugin's gadgets, users with roles and their API tokens, and a small catalogue for quotes.

The org is built once per database kind (a few seconds for L2C) and shared, so every test
makes its own records and looks only at them (a tag in their name or company).
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import drop_test_schemas

EXAMPLE = Path(__file__).resolve().parents[1] / "example_plugin"
PASSWORD = "correct horse battery"
#: user name -> (role, locale)
USERS = {
    "boss": ("admin", "en"),
    "alice": ("sales_rep", "en"),
    "bob": ("sales_rep", "en"),
    "mei": ("sales_rep", "zh-CN"),
    "maria": ("marketing", "en"),
}


@dataclass
class Api:
    """The app, its org, a test client, and a bearer token per user."""

    app: Any
    org: str
    tokens: dict[str, str]
    kind: str
    ids: dict[str, int] = field(default_factory=dict)
    #: ends the name of every org (and PostgreSQL schema) of the session, which drops them
    suffix: str = ""
    #: user name -> user id
    users: dict[str, int] = field(default_factory=dict)

    @property
    def client(self) -> Any:
        return self.app.test_client()

    def headers(self, user: str | None = "boss", **extra: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
        headers.update(extra)
        return headers

    def get(self, path: str, user: str | None = "boss", **kwargs: Any) -> Any:
        return self.client.get(path, headers=self.headers(user, **kwargs.pop("headers", {})), **kwargs)

    def post(self, path: str, json: Any = None, user: str | None = "boss", **kwargs: Any) -> Any:
        return self.client.post(path, json=json, headers=self.headers(user, **kwargs.pop("headers", {})), **kwargs)

    def patch(self, path: str, json: Any = None, user: str | None = "boss", **kwargs: Any) -> Any:
        return self.client.patch(path, json=json, headers=self.headers(user, **kwargs.pop("headers", {})), **kwargs)

    def delete(self, path: str, user: str | None = "boss", **kwargs: Any) -> Any:
        return self.client.delete(path, headers=self.headers(user, **kwargs.pop("headers", {})), **kwargs)

    @property
    def records(self) -> Any:
        """The org's record service (as the system, for arranging data)."""
        return self.app.extensions["tessera.orgs"].get(self.org).records

    def another_org(self, prefix: str, users: dict[str, str]) -> Api:
        """A further org of the same app and platform (its own SQLite file or PostgreSQL
        schema, dropped with the session's), with a user per ``{username: role}`` and a token
        each: the org's own ``Api``."""
        from tessera.orgs import create_org

        name = f"{prefix}_{self.suffix}"
        create_org(self.app.config, name, plugins=self.app.extensions["tessera.plugins"])
        other = Api(self.app, name, {}, self.kind, suffix=self.suffix)
        other.add_users({username: (role, "en") for username, role in users.items()})
        return other

    def add_users(self, users: dict[str, tuple[str, str]]) -> None:
        """Users of this org, ``{username: (role, locale)}``, each with an API token."""
        store = self.app.extensions["tessera.platform"]
        for username, (role, locale) in users.items():
            user = store.create_user(self.org, username, PASSWORD, role, locale=locale)
            self.users[username] = user.id
            self.tokens[username] = store.create_token(user, "tests")[0]


@pytest.fixture(scope="session")
def example_plugin_wheel_site(tmp_path_factory) -> Path:
    """The example plugin pip-installed into a folder, as a user would install a plugin."""
    site = tmp_path_factory.mktemp("api-plugin-site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site),
                    str(EXAMPLE)], check=True, capture_output=True, text=True)
    return site


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def api(request, tmp_path_factory, example_plugin_wheel_site) -> Iterator[Api]:
    from tessera.app import create_app
    from tessera.orgs import create_org

    suffix = uuid.uuid4().hex[:8]
    settings: dict[str, Any] = {"TESTING": True, "SECRET_KEY": "test", "PASSWORD_PROFILE": "CHEAPEST",
                                "PACKAGES": "l2c", "PLUGINS": "example", "OVERLAY_DIR": ""}
    url = None
    if request.param == "sqlite":
        settings["DATABASE_URL"] = f"sqlite:///{tmp_path_factory.mktemp('api') / 'instance' / 'tessera.db'}"
    else:
        url = request.getfixturevalue("postgres_available")
        if url is None:
            pytest.skip("set TESSERA_TEST_DATABASE_URL to run against PostgreSQL")
        settings.update(DATABASE_URL=url, PLATFORM_SCHEMA=f"t_{suffix}")
    # the plugin's entry point is visible only while the app loads its plugins, so other
    # tests that load "every installed plugin" do not pick it up
    sys.path.insert(0, str(example_plugin_wheel_site))
    try:
        app = create_app(settings)
        org = f"api_{suffix}"
        create_org(app.config, org, plugins=app.extensions["tessera.plugins"])
    finally:
        sys.path.remove(str(example_plugin_wheel_site))
    try:
        api = Api(app, org, {}, request.param, suffix=suffix)
        api.add_users(USERS)
        api.ids = _catalogue(api)
        yield api
    finally:
        app.extensions["tessera.orgs"].close()
        app.extensions["tessera.platform"].dispose()
        if url is not None:
            drop_test_schemas(url, suffix)


def _catalogue(api: Api) -> dict[str, int]:
    """What quotes need: a unit, a product, a price book and an account."""
    records = api.records
    unit = records.create("unit", {"name": "Piece", "code": "PCS"})
    product = records.create("product", {"name": "Pump", "code": "P-1", "unit": unit["id"]})
    book = records.create("price_book", {"name": "Standard", "code": "STD"})
    return {"unit": unit["id"], "product": product["id"], "price_book": book["id"]}


@pytest.fixture(scope="session")
def l2c_templates(tmp_path_factory) -> Any:
    """Valid records of every L2C object to copy into an org (see l2c_records.py)."""
    from tests.api.l2c_records import load_templates

    return load_templates(tmp_path_factory.mktemp("l2c-templates"))


@pytest.fixture
def tag() -> str:
    """A word unique to one test, to put in the names of its records and filter on."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def lead(tag):
    """``lead(**values)``: a valid lead body carrying the test's tag."""

    def body(**values: Any) -> dict[str, Any]:
        return {"name": f"{tag} lead", "company": f"{tag} Co", "phone": "13800138000", "status": "pending",
                **values}

    return body


@pytest.fixture
def problem():
    """``problem(response, status, kind=None)``: assert an RFC 9457 problem, return its body."""
    return is_problem


def is_problem(response: Any, status: int, kind: str | None = None) -> dict[str, Any]:
    """Assert an RFC 9457 problem of ``status`` and return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["title"] and body["detail"]
    assert body["type"].startswith("https://tessera.dev/problems/")
    if kind:
        assert body["type"].endswith("/" + kind), body["type"]
    assert "Traceback" not in response.get_data(as_text=True)
    return body
