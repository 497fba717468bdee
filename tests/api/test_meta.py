"""Describe calls: objects, fields, layouts, list views, actions and the caller's permissions,
in the caller's language; the metadata JSON Schemas for editors."""

from __future__ import annotations

import pytest


def by_name(items):
    return {item["name"]: item for item in items}


def test_objects_lists_what_the_caller_may_read_with_their_permissions(api):
    objects = by_name(api.get("/api/v1/meta/objects", user="alice").get_json()["data"])

    assert objects["lead"]["label"] == "Lead" and objects["lead"]["plural_label"] == "Leads"
    assert objects["lead"]["permissions"] == {"create": True, "read": True, "edit": True, "delete": False}
    assert objects["product"]["permissions"] == {"create": False, "read": True, "edit": False, "delete": False}
    assert "invoice" not in objects and "gadget" not in objects
    assert "gadget" in by_name(api.get("/api/v1/meta/objects").get_json()["data"])


def test_an_object_is_described_in_english(api):
    lead = api.get("/api/v1/meta/objects/lead", user="alice").get_json()
    fields = by_name(lead["fields"])

    assert fields["status"]["type"] == "picklist" and fields["status"]["required"] is True
    assert fields["status"]["options"][0] == {"value": "unassigned", "label": "Unassigned", "color": "#94a3b8",
                                              "active": True}
    assert fields["score"]["read_only"] is True and fields["score"]["help"].startswith("Attribute, behaviour")
    assert fields["name"]["read_only"] is False and fields["name"]["max_length"] == 100
    assert fields["lead_pool"]["target"] == "lead_pool"
    assert fields["days_since_activity"]["result"] == "integer" and fields["days_since_activity"]["read_only"]
    assert fields["id"]["system"] and fields["owner_id"]["read_only"] is False
    assert lead["layout"]["sections"][0]["name"] == "main"
    assert "my_open" in by_name(lead["list_views"])
    assert by_name(lead["list_views"])["my_open"]["filter"] == {"owner_id": "$me", "status__in": ["pending", "in_progress"]}


def test_an_object_is_described_in_chinese_for_a_chinese_user(api):
    lead = api.get("/api/v1/meta/objects/lead", user="mei").get_json()
    fields = by_name(lead["fields"])
    assert lead["label"] == "线索"
    assert fields["status"]["label"] == "线索状态"
    assert fields["status"]["options"][0]["label"] == "未分配"
    assert fields["score"]["help"].startswith("属性分")
    assert lead["layout"]["sections"][0]["label"] == "线索信息"


def test_the_accept_language_header_does_not_override_the_users_locale(api):
    lead = api.get("/api/v1/meta/objects/lead", user="mei", headers={"Accept-Language": "en"}).get_json()
    assert lead["label"] == "线索"


def test_fields_read_only_for_the_callers_role_are_marked(api):
    manager_view = api.get("/api/v1/meta/objects/opportunity", user="alice").get_json()
    assert by_name(manager_view["fields"])["one_w"]["read_only"] is True
    assert by_name(api.get("/api/v1/meta/objects/opportunity").get_json()["fields"])["one_w"]["read_only"] is False


def test_actions_are_described_with_their_input_schema(api):
    gadget = api.get("/api/v1/meta/objects/gadget").get_json()
    (escalate,) = gadget["actions"]
    assert escalate["name"] == "escalate" and escalate["label"] == "Escalate"
    assert escalate["input_schema"]["required"] == ["reason"]
    assert api.get("/api/v1/meta/objects/lead").get_json()["actions"] == []


def test_describing_an_object_the_caller_cannot_read_is_forbidden(api, problem):
    problem(api.get("/api/v1/meta/objects/invoice", user="alice"), 403)
    problem(api.get("/api/v1/meta/objects/nothing"), 404)


@pytest.mark.parametrize("kind", ["object", "flow", "role", "common"])
def test_metadata_schemas_are_served_for_editors(api, kind):
    schema = api.get(f"/api/v1/meta/schemas/{kind}.json").get_json()
    assert schema["$schema"].startswith("https://json-schema.org/draft/2020-12")
    if kind == "object":
        assert "rating" in schema["$defs"]["field"]["properties"]["type"]["enum"]  # the plugin's field type


def test_an_unknown_metadata_schema_is_not_found(api, problem):
    problem(api.get("/api/v1/meta/schemas/widget.json"), 404)
