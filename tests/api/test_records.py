"""Records over HTTP: create, get, update with If-Match, delete, restore, history."""

from __future__ import annotations


def test_create_returns_201_with_location_etag_and_the_saved_record(api, lead):
    response = api.post("/api/v1/lead", lead())

    assert response.status_code == 201
    record = response.get_json()
    assert response.headers["Location"] == f"/api/v1/lead/{record['id']}"
    assert response.headers["ETag"] == '"1"'
    assert record["version"] == 1 and record["status"] == "pending" and record["grade"] == "cold"
    assert record["created_at"].endswith("+00:00")  # ISO with its offset


def test_crud_round_trip_with_etag_and_if_match(api, lead):
    created = api.post("/api/v1/lead", lead()).get_json()
    path = f"/api/v1/lead/{created['id']}"

    read = api.get(path)
    assert read.status_code == 200 and read.headers["ETag"] == '"1"'
    assert read.get_json() == created

    changed = api.patch(path, {"title": "CTO"}, headers={"If-Match": read.headers["ETag"]})
    assert changed.status_code == 200, changed.get_json()
    assert changed.headers["ETag"] == '"2"'
    assert changed.get_json()["title"] == "CTO" and changed.get_json()["company"] == created["company"]

    assert api.delete(path, headers={"If-Match": '"2"'}).status_code == 204
    assert api.get(path).status_code == 404

    restored = api.post(f"{path}/restore")
    assert restored.status_code == 200 and restored.get_json()["title"] == "CTO"
    assert restored.headers["ETag"] == f'"{restored.get_json()["version"]}"'

    history = api.get(f"{path}/history").get_json()["data"]
    assert [entry["action"] for entry in history] == ["create", "update", "delete", "restore"]
    assert history[1]["changes"]["title"] == [None, "CTO"]


def test_a_weak_etag_is_read_as_the_same_version(api, lead):
    created = api.post("/api/v1/lead", lead()).get_json()
    response = api.patch(f"/api/v1/lead/{created['id']}", {"title": "CEO"}, headers={"If-Match": 'W/"1"'})
    assert response.status_code == 200


def test_stale_update_is_rejected_with_412_naming_the_changed_fields(api, lead, problem):
    created = api.post("/api/v1/lead", lead()).get_json()
    path = f"/api/v1/lead/{created['id']}"
    assert api.patch(path, {"title": "CTO"}, headers={"If-Match": '"1"'}).status_code == 200

    stale = api.patch(path, {"department": "IT"}, headers={"If-Match": '"1"'})

    body = problem(stale, 412, "precondition-failed")
    assert body["changed_fields"] == ["title"] and body["current_version"] == 2
    assert stale.headers["ETag"] == '"2"'
    assert api.get(path).get_json()["department"] is None  # nothing overwritten


def test_update_without_if_match_is_refused_with_428(api, lead, problem):
    created = api.post("/api/v1/lead", lead()).get_json()
    response = api.patch(f"/api/v1/lead/{created['id']}", {"title": "CTO"})
    problem(response, 428, "precondition-required")
    star = api.patch(f"/api/v1/lead/{created['id']}", {"title": "CTO"}, headers={"If-Match": "*"})
    problem(star, 428)
    assert api.get(f"/api/v1/lead/{created['id']}").get_json()["title"] is None


def test_delete_with_a_stale_if_match_is_refused_and_without_one_deletes(api, lead, problem):
    created = api.post("/api/v1/lead", lead()).get_json()
    path = f"/api/v1/lead/{created['id']}"
    api.patch(path, {"title": "CTO"}, headers={"If-Match": '"1"'})
    problem(api.delete(path, headers={"If-Match": '"1"'}), 412)
    assert api.delete(path).status_code == 204


def test_validation_problems_come_back_per_field_all_at_once(api, tag, problem):
    response = api.post("/api/v1/lead", {"name": "", "status": "nonsense", "score": 5, "nickname": "x"})

    body = problem(response, 422, "validation")
    errors = body["errors"]
    assert {"name", "status", "score", "nickname"} <= set(errors)
    assert all(isinstance(messages, list) and messages for messages in errors.values())
    assert errors["nickname"] == ["There is no field called 'nickname'."]


def test_problems_speak_the_callers_language(api, problem):
    response = api.post("/api/v1/lead", {"status": "pending"}, user="mei")
    body = problem(response, 422)
    assert body["errors"]["name"] == ["此字段为必填项。"]


def test_money_is_a_string_and_exact_both_ways(api, tag):
    response = api.post("/api/v1/account", {"name": f"{tag} Acme", "annual_revenue": "1234567890123.45"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["annual_revenue"] == "1234567890123.45"
    number = api.post("/api/v1/account", {"name": f"{tag} Beta", "annual_revenue": 0.1})
    assert number.get_json()["annual_revenue"] == "0.10"


def test_a_record_of_another_user_is_not_found(api, lead, problem):
    mine = api.post("/api/v1/lead", lead(), user="alice").get_json()
    path = f"/api/v1/lead/{mine['id']}"
    assert api.get(path, user="alice").status_code == 200

    for response in (api.get(path, user="bob"), api.patch(path, {"title": "x"}, user="bob", headers={"If-Match": '"1"'}),
                     api.get(f"{path}/history", user="bob")):
        problem(response, 404, "not-found")


def test_a_role_without_the_permission_is_forbidden(api, tag, problem):
    body = problem(api.post("/api/v1/account", {"name": f"{tag} Acme"}, user="maria"), 403, "forbidden")
    assert body["detail"] == "You do not have permission to do this."
    problem(api.get("/api/v1/invoice", user="alice"), 403)
    account = api.post("/api/v1/account", {"name": f"{tag} Acme"}).get_json()
    problem(api.delete(f"/api/v1/account/{account['id']}", user="maria"), 403)


def test_deleting_a_record_others_still_need_is_a_409_naming_them(api, tag, problem):
    pool = api.post("/api/v1/lead_pool", {"name": f"{tag} pool"})
    assert pool.status_code == 201, pool.get_json()
    pool_id = pool.get_json()["id"]
    created = api.post("/api/v1/lead", {"name": f"{tag} lead", "phone": "13800138000", "status": "unassigned",
                                        "lead_pool": pool_id})
    assert created.status_code == 201, created.get_json()

    body = problem(api.delete(f"/api/v1/lead_pool/{pool_id}"), 409, "conflict")
    assert body["blockers"] == {"leads": 1}


def test_restoring_a_record_that_is_not_deleted_is_not_found(api, lead, problem):
    created = api.post("/api/v1/lead", lead()).get_json()
    problem(api.post(f"/api/v1/lead/{created['id']}/restore"), 404)
