"""Screens through Flask's test client, against the demo company (see ``demo_site_factory``).

``site`` is one app for the whole directory; tests that write create their own records (through
the record service) so they do not depend on each other. ``sign_in("zhang.wei")`` gives a client
with that demo user's session; ``csrf(client)`` reads the session's token from a page, as a
browser would.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

DEMO_PASSWORD = "tessera-demo"
HTMX = {"HX-Request": "true"}


@pytest.fixture(scope="session")
def site(demo_site_factory):
    return demo_site_factory("web")


@pytest.fixture
def records(site):
    """The default org's RecordService."""
    return site.extensions["tessera.records"]


@pytest.fixture
def actor(site) -> Callable[[str], object]:
    """``actor("zhang.wei")``: that demo user as the record service sees them."""
    return lambda username: site.extensions["tessera.platform"].user("default", username).actor()


@pytest.fixture
def sign_in(site):
    """``sign_in(username="admin", lang="en")``: a client signed in as a demo user, its session
    switched to ``lang`` (most demo users read Chinese)."""

    def make(username: str = "admin", lang: str = "en"):
        client = site.test_client()
        response = client.post("/login", data={"org": "default", "username": username, "password": DEMO_PASSWORD,
                                               "csrf_token": csrf(client, "/login")})
        assert response.status_code == 303, response.get_data(as_text=True)
        client.get(f"/?lang={lang}")
        return client

    return make


def csrf(client, path: str = "/") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def row_ids(html: str) -> list[int]:
    """The record ids of a list table's rows, in order."""
    return [int(found) for found in re.findall(r'<tr data-id="(\d+)"', html)]


@pytest.fixture(name="csrf")
def csrf_fixture() -> Callable[..., str]:
    """``csrf(client, path="/")``: the session's CSRF token, read from a page's meta tag."""
    return csrf


@pytest.fixture(name="row_ids")
def row_ids_fixture() -> Callable[[str], list[int]]:
    """``row_ids(html)``: the record ids of a list table's rows, in order."""
    return row_ids
