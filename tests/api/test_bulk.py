"""Bulk create, update and upsert: per-row results, all-or-none, external ids."""

from __future__ import annotations


def count(api, tag):
    return api.get(f"/api/v1/account?description={tag}").get_json()["count"]["value"]


def test_bulk_create_saves_every_row_and_reports_each(api, tag):
    rows = [{"name": f"{tag} {i}", "description": tag} for i in range(3)]
    response = api.post("/api/v1/account/bulk", {"operation": "create", "records": rows})

    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert [(r["index"], r["status"], r["errors"]) for r in results] == [(0, 201, {}), (1, 201, {}), (2, 201, {})]
    assert all(r["id"] and r["version"] == 1 for r in results)
    assert count(api, tag) == 3


def test_all_or_none_rolls_back_every_row_when_one_fails(api, tag, problem):
    rows = [{"name": f"{tag} good", "description": tag}, {"description": tag, "employees": -1},
            {"name": f"{tag} good too", "description": tag}]
    response = api.post("/api/v1/account/bulk", {"operation": "create", "records": rows, "all_or_none": True})

    body = problem(response, 422, "batch-failed")
    assert [(r["index"], r["status"], r["id"]) for r in body["results"]] == [(0, 424, None), (1, 422, None),
                                                                            (2, 424, None)]
    assert set(body["results"][1]["errors"]) == {"name", "employees"}
    assert count(api, tag) == 0


def test_without_all_or_none_the_good_rows_are_saved(api, tag):
    rows = [{"name": f"{tag} good", "description": tag}, {"description": tag},
            {"name": f"{tag} good too", "description": tag}]
    response = api.post("/api/v1/account/bulk", {"operation": "create", "records": rows, "all_or_none": False})

    results = response.get_json()["results"]
    assert [r["status"] for r in results] == [201, 422, 201]
    assert results[1]["errors"] == {"name": ["This field is required."]}
    assert count(api, tag) == 2


def test_bulk_update_needs_the_version_and_refuses_stale_rows(api, tag):
    made = api.post("/api/v1/account/bulk", {"operation": "create", "records": [
        {"name": f"{tag} {i}", "description": tag} for i in range(3)]}).get_json()["results"]
    first, second, third = made
    api.patch(f"/api/v1/account/{third['id']}", {"region": "north"}, headers={"If-Match": '"1"'})

    response = api.post("/api/v1/account/bulk", {"operation": "update", "all_or_none": False, "records": [
        {"id": first["id"], "version": 1, "region": "east"},
        {"id": second["id"], "region": "east"},
        {"id": third["id"], "version": 1, "region": "east"}]})

    results = response.get_json()["results"]
    assert [r["status"] for r in results] == [200, 422, 409]
    assert results[0]["version"] == 2
    assert results[1]["errors"] == {"version": ["This field is required."]}
    assert results[2]["changed_fields"] == ["region"] and results[2]["id"] == third["id"]


def test_upsert_matches_existing_records_by_the_external_id(api, tag):
    code = str(int(tag[1:], 16)).zfill(16)  # 18 characters with the prefix, as the format rule wants
    existing = api.post("/api/v1/account", {"name": f"{tag} old", "credit_code": f"91{code}", "description": tag})
    assert existing.status_code == 201, existing.get_json()
    response = api.post("/api/v1/account/bulk", {"operation": "upsert", "external_id": "credit_code", "records": [
        {"credit_code": f"91{code}", "name": f"{tag} renamed"},
        {"credit_code": f"92{code}", "name": f"{tag} new", "description": tag},
        {"credit_code": f"92{code}", "region": "west"}]})

    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == [200, 201, 200]
    assert results[0]["id"] == existing.get_json()["id"] and results[2]["id"] == results[1]["id"]
    assert api.get(f"/api/v1/account/{results[0]['id']}").get_json()["name"] == f"{tag} renamed"
    assert api.get(f"/api/v1/account/{results[1]['id']}").get_json()["region"] == "west"


def test_upsert_needs_a_unique_external_id_field(api, problem):
    for external_id in (None, "region", "nothing"):
        body = problem(api.post("/api/v1/account/bulk", {"operation": "upsert", "external_id": external_id,
                                                         "records": [{"name": "x"}]}), 400, "bad-request")
        assert list(body["errors"]) == ["external_id"]


def test_a_bad_bulk_request_names_every_bad_member(api, problem):
    body = problem(api.post("/api/v1/account/bulk", {"operation": "merge", "records": [], "all_or_none": "yes",
                                                     "extra": 1}), 400)
    assert set(body["errors"]) == {"operation", "records", "all_or_none", "extra"}
    too_many = problem(api.post("/api/v1/account/bulk", {"operation": "create",
                                                         "records": [{"name": "x"}] * 1001}), 400)
    assert "1000" in too_many["errors"]["records"][0]


def test_bulk_needs_the_permission_of_its_operation(api, tag, problem):
    problem(api.post("/api/v1/account/bulk", {"operation": "create", "records": [{"name": tag}]}, user="maria"), 403)
    assert count(api, tag) == 0
