"""The API with the browser session: reads need the cookie, writes also the CSRF token."""

from __future__ import annotations

import re

PASSWORD = "correct horse battery"  # tests/api/conftest.py gives every user this one


def csrf_token(client, path):
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def signed_in(api, username="boss"):
    """A client signed in through /login, and the CSRF token of its new session."""
    client = api.client
    response = client.post("/login", data={"csrf_token": csrf_token(client, "/login"), "org": api.org,
                                           "username": username, "password": PASSWORD})
    assert response.status_code == 303, response.get_data(as_text=True)
    return client, csrf_token(client, "/account/tokens")


def test_a_signed_in_browser_reads_and_writes_with_the_csrf_token(api, tag, problem):
    client, token = signed_in(api)
    assert client.get("/api/v1/lead?limit=1").status_code == 200

    body = {"name": f"{tag} lead", "phone": "13800138000", "status": "pending"}
    problem(client.post("/api/v1/lead", json=body), 400)  # no CSRF token: refused
    created = client.post("/api/v1/lead", json=body, headers={"X-CSRFToken": token})
    assert created.status_code == 201, created.get_json()


def test_a_bearer_token_needs_no_csrf_token_and_overrides_the_session(api, tag):
    client, _token = signed_in(api, "alice")
    response = client.post("/api/v1/account", json={"name": f"{tag} Acme"}, headers=api.headers("maria"))
    assert response.status_code == 403  # judged as maria (marketing), not as the signed-in alice
