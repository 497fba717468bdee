"""The OpenAPI 3.1 document: valid, accurate for the caller, and rendered at /api/docs offline."""

from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from tessera.hookspecs import hookimpl


@pytest.fixture
def document(api):
    return api.get("/api/v1/openapi.json").get_json()


def conforms(document, schema_name, instance):
    """Validate ``instance`` against a component schema of ``document`` (refs resolved in it)."""
    contents = {**document, "$schema": "https://json-schema.org/draft/2020-12/schema"}
    registry = Registry().with_resource("urn:api", Resource.from_contents(contents))
    validator = Draft202012Validator({"$ref": f"urn:api#/components/schemas/{schema_name}"}, registry=registry)
    return sorted(error.message for error in validator.iter_errors(instance))


def test_the_document_is_valid_openapi_3_1(api, document):
    if api.kind != "sqlite":
        pytest.skip("the document does not depend on the database")
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_readable_object_has_its_paths_and_schemas(document):
    paths, schemas = document["paths"], document["components"]["schemas"]
    for name in ("lead", "account", "quote", "gadget"):
        assert {"get", "post"} <= set(paths[f"/api/v1/{name}"])
        assert {"get", "patch", "delete"} <= set(paths[f"/api/v1/{name}/{{id}}"])
        assert f"/api/v1/{name}/{{id}}/restore" in paths and f"/api/v1/{name}/{{id}}/history" in paths
        assert f"/api/v1/{name}/bulk" in paths
        assert {name, f"{name}.input", f"{name}.update", f"{name}.page"} <= set(schemas)
    assert "/api/v1/gadget/{id}/actions/escalate" in paths
    assert set(document["components"]["securitySchemes"]) == {"bearerToken", "sessionCookie"}


def test_record_schemas_carry_the_real_field_types(document):
    schemas = document["components"]["schemas"]
    lead, lead_input = schemas["lead"]["properties"], schemas["lead.input"]
    assert lead["status"]["enum"][:2] == ["unassigned", "pending"] and None in lead["status"]["enum"]
    assert lead["name"]["maxLength"] == 100
    assert lead["score"]["readOnly"] is True and lead["id"]["readOnly"] is True
    assert lead["created_at"]["format"] == "date-time"
    assert lead["days_since_activity"]["type"] == ["integer", "string", "null"]  # computed when read, see schemas.py
    assert schemas["account"]["properties"]["annual_revenue"]["type"] == ["string", "null"]  # exact money
    assert "name" in lead_input["required"] and "status" not in lead_input.get("required", [])  # it has a default
    assert "score" not in lead_input["properties"] and lead_input["additionalProperties"] is False
    assert "required" not in schemas["lead.update"]
    assert schemas["quote"]["properties"]["lines"]["items"] == {"$ref": "#/components/schemas/quote_line"}
    assert schemas["gadget"]["properties"]["rating"]["type"] == ["number", "string", "null"]  # a plugin's type


def test_the_action_path_takes_the_actions_input_schema(document):
    operation = document["paths"]["/api/v1/gadget/{id}/actions/escalate"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["reason"]
    assert operation["summary"] == "Escalate"


def test_responses_conform_to_the_document(api, document, tag):
    created = api.post("/api/v1/lead", {"name": f"{tag} lead", "phone": "13800138000", "status": "pending",
                                        "company": tag}).get_json()
    assert conforms(document, "lead", created) == []
    page = api.get(f"/api/v1/lead?company={tag}").get_json()
    assert conforms(document, "lead.page", page) == []
    account = api.post("/api/v1/account", {"name": f"{tag} Acme", "annual_revenue": "12.5"}).get_json()
    assert conforms(document, "account", account) == []
    refused = api.post("/api/v1/lead", {"status": "x"}).get_json()
    assert conforms(document, "Problem", refused) == []


def test_the_document_shows_the_caller_only_what_they_may_do(api):
    mine = api.get("/api/v1/openapi.json", user="alice").get_json()
    assert "/api/v1/invoice" not in mine["paths"] and "invoice" not in mine["components"]["schemas"]
    assert "post" not in mine["paths"]["/api/v1/product"]
    assert "delete" not in mine["paths"]["/api/v1/lead/{id}"]
    assert mine["paths"]["/api/v1/lead/bulk"]["post"]["requestBody"]["content"]["application/json"]["schema"][
        "properties"]["operation"]["enum"] == ["create", "update", "upsert"]


class _Fragment:
    @hookimpl
    def tessera_openapi(self, registry):
        return {"paths": {"/example/hello": {"get": {"summary": "Say hello", "responses": {
            "200": {"description": "A greeting", "content": {"text/html": {"schema": {"$ref": "#/components/schemas/Greeting"}}}}}}}},
            "components": {"schemas": {"Greeting": {"type": "string"}}}}


def test_plugin_fragments_are_merged(api):
    plugins = api.app.extensions["tessera.plugins"]
    plugins.pm.register(_Fragment(), name="fragment")
    api.app.extensions.pop("tessera.api.openapi", None)
    try:
        document = api.get("/api/v1/openapi.json").get_json()
    finally:
        plugins.pm.unregister(name="fragment")
        api.app.extensions.pop("tessera.api.openapi", None)
    assert document["paths"]["/example/hello"]["get"]["summary"] == "Say hello"
    assert document["components"]["schemas"]["Greeting"] == {"type": "string"}


def test_api_docs_render_the_vendored_swagger_ui(api):
    client = api.client
    assert client.get("/api/docs").status_code == 302  # sign in first
    page = client.get("/api/docs", headers=api.headers()).get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert len(assets) == 2 and all("/vendor/swagger-ui-dist-" in asset for asset in assets)
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200 and len(response.data) > 10_000
        response.close()
    assert '"/api/v1/openapi.json"' in page and "http" not in page.split("<body>")[1].replace("http://", "")
