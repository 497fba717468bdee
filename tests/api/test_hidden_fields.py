"""A field a role hides (a sales rep and account.annual_revenue) does not exist for that role,
in every part of the API."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def account(api, tag):
    response = api.post("/api/v1/account", {"name": f"{tag} Acme", "annual_revenue": "5000000.00"}, user="alice")
    assert response.status_code == 422  # the rep cannot even send it ...
    created = api.post("/api/v1/account", {"name": f"{tag} Acme", "description": tag}, user="alice")
    assert created.status_code == 201, created.get_json()
    record = created.get_json()
    assert "annual_revenue" not in record
    etag = api.get(f"/api/v1/account/{record['id']}").headers["ETag"]
    changed = api.patch(f"/api/v1/account/{record['id']}", {"annual_revenue": "5000000.00"}, headers={"If-Match": etag})
    assert changed.status_code == 200, changed.get_json()  # ... the admin can
    return changed.get_json()


def test_a_hidden_field_is_refused_as_unknown_on_write(api, tag, problem):
    body = problem(api.post("/api/v1/account", {"name": f"{tag} X", "annual_revenue": "1"}, user="alice"), 422)
    assert body["errors"] == {"annual_revenue": ["There is no field called 'annual_revenue'."]}


def test_a_hidden_field_is_absent_from_get_list_and_expand(api, tag, account):
    assert api.get(f"/api/v1/account/{account['id']}").get_json()["annual_revenue"] == "5000000.00"
    one = api.get(f"/api/v1/account/{account['id']}", user="alice").get_json()
    assert "annual_revenue" not in one and one["name"] == f"{tag} Acme"
    rows = api.get(f"/api/v1/account?description={tag}", user="alice").get_json()["data"]
    assert rows and all("annual_revenue" not in row for row in rows)


def test_a_hidden_field_cannot_be_selected_filtered_sorted_or_followed(api, tag, account, problem):
    for query in ({"fields": "name,annual_revenue"}, {"annual_revenue__gte": "1"}, {"sort": "-annual_revenue"},
                  {"filter": json.dumps({"or": [{"annual_revenue__gte": 1}, {"name": "x"}]})}):
        body = problem(api.get("/api/v1/account", query_string=query, user="alice"), 400)
        assert "annual_revenue" in json.dumps(body["errors"]), query
    contact = api.post("/api/v1/contact", {"name": f"{tag} Li", "account": account["id"], "mobile": "13800138000"},
                       user="alice")
    assert contact.status_code == 201, contact.get_json()
    problem(api.get("/api/v1/contact?fields=account.annual_revenue", user="alice"), 400)
    problem(api.get("/api/v1/contact?account.annual_revenue__gte=1", user="alice"), 400)


def test_a_hidden_field_is_absent_from_history(api, account):
    history = api.get(f"/api/v1/account/{account['id']}/history", user="alice").get_json()["data"]
    assert all("annual_revenue" not in entry["changes"] for entry in history)
    admin = api.get(f"/api/v1/account/{account['id']}/history").get_json()["data"]
    assert any("annual_revenue" in entry["changes"] for entry in admin)


def test_a_hidden_field_is_absent_from_describe_and_openapi(api):
    described = api.get("/api/v1/meta/objects/account", user="alice").get_json()
    assert "annual_revenue" not in {field["name"] for field in described["fields"]}
    assert "annual_revenue" not in json.dumps(described["layout"])
    document = api.get("/api/v1/openapi.json", user="alice").get_json()
    schemas = document["components"]["schemas"]
    assert "annual_revenue" not in schemas["account"]["properties"]
    assert "annual_revenue" not in schemas["account.input"]["properties"]
    assert "annual_revenue" in api.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["account"]["properties"]
