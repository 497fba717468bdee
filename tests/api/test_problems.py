"""Every refusal is an RFC 9457 problem: the right status, a type, a title, a detail in the
caller's language, per-field errors; never an HTML page, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tessera.api.messages import MESSAGES
from tessera.api.problems import KINDS


def test_every_api_message_exists_in_english_and_chinese():
    assert all(set(texts) == {"en", "zh-CN"} and all(texts.values()) for texts in MESSAGES.values())


def test_without_credentials_the_answer_is_401_with_a_bearer_challenge(api, problem):
    response = api.get("/api/v1/lead", user=None)
    problem(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    chinese = api.get("/api/v1/lead", user=None, headers={"Accept-Language": "zh-CN"})
    assert problem(chinese, 401)["detail"].startswith("请先登录")
    problem(api.post("/api/v1/lead", {"name": "x"}, user=None), 401)  # not a CSRF 400: nobody is signed in


def test_a_revoked_or_made_up_token_is_401(api, problem):
    problem(api.client.get("/api/v1/lead", headers={"Authorization": "Bearer tsr_made_up"}), 401)
    problem(api.client.get("/api/v1/openapi.json", headers={"Authorization": "Basic Ym9zczp4"}), 401)


def test_an_unknown_object_is_404(api, problem):
    for response in (api.get("/api/v1/spaceship"), api.get("/api/v1/spaceship/1"), api.post("/api/v1/spaceship", {}),
                     api.post("/api/v1/spaceship/bulk", {})):
        assert "spaceship" in problem(response, 404, "not-found")["detail"]


def test_an_unknown_address_is_a_404_problem_and_a_wrong_method_405(api, problem):
    problem(api.get("/api/v1/lead/1/comments"), 404)
    problem(api.get("/api/v1/"), 404)
    wrong = api.client.put("/api/v1/lead/1", json={}, headers=api.headers())
    problem(wrong, 405, "method-not-allowed")
    assert set(wrong.headers["Allow"].split(", ")) >= {"GET", "PATCH", "DELETE"}


def test_an_id_beyond_the_database_range_is_simply_not_found(api, problem):
    problem(api.get(f"/api/v1/lead/{2**63}"), 404)
    problem(api.get("/api/v1/lead/-1"), 404)


@pytest.mark.parametrize("body", [b"{not json", b'{"name": NaN}', b"[1, 2]", b'"text"', b"", b"\xff\xfe"])
def test_a_body_that_is_not_a_json_object_is_400(api, problem, body):
    response = api.client.post("/api/v1/lead", data=body, headers=api.headers(**{"Content-Type": "application/json"}))
    problem(response, 400, "bad-request")


def test_a_bad_json_body_says_where_in_chinese_for_a_chinese_user(api, problem):
    response = api.client.post("/api/v1/lead", data=b'{"name": }', headers=api.headers("mei"))
    assert problem(response, 400)["detail"].startswith("请求体不是有效的 JSON")


def test_unknown_query_parameters_are_listed(api, problem):
    body = problem(api.get("/api/v1/lead?colour=red&size__gte=3&name=x"), 400, "bad-request")
    assert set(body["errors"]) == {"colour", "size__gte"}
    assert "colour" in body["detail"] and "size__gte" in body["detail"]
    got = problem(api.get("/api/v1/lead/1?fields=name&debug=1"), 400)
    assert set(got["errors"]) == {"fields", "debug"}
    problem(api.post("/api/v1/lead?dry_run=1", {}), 400)


def test_filter_problems_name_each_parameter(api, problem):
    body = problem(api.get("/api/v1/lead", query_string={
        "score__gte": "lots", "status": "sleeping", "name__near": "x", "filter": json.dumps({"or": "x"}),
        "sort": "nothing"}), 400)
    assert set(body["errors"]) == {"score__gte", "status", "name__near", "filter"}
    assert "expected a number" in body["errors"]["score__gte"][0]
    assert "not one of the options" in body["errors"]["status"][0]
    sorted_badly = problem(api.get("/api/v1/lead?sort=nothing"), 400)
    assert "nothing" in sorted_badly["errors"]["sort"][0]
    problem(api.get("/api/v1/lead?filter=%7Bnot%20json"), 400)
    problem(api.get("/api/v1/lead?cursor=garbage"), 400)


def test_a_formula_computed_when_read_cannot_be_filtered(api, problem):
    body = problem(api.get("/api/v1/lead?days_since_activity__gte=3"), 400)
    assert "computed when read" in body["errors"]["days_since_activity__gte"][0]


def test_a_body_over_the_limit_is_413(api, problem):
    api.app.config["API_MAX_BODY"] = 1000
    try:
        response = api.post("/api/v1/lead", {"name": "x" * 2000})
    finally:
        api.app.config["API_MAX_BODY"] = 10 * 1024 * 1024
    problem(response, 413, "payload-too-large")


def test_failed_sign_ins_over_the_limit_get_a_429_problem(api, problem):
    api.app.config["LOGIN_RATE_LIMIT"] = "2 per minute"
    client = api.client
    try:
        answers = [client.post("/login", data={"org": api.org, "username": "nobody", "password": "wrong"},
                               headers={"Authorization": "Bearer none", "Accept": "application/json"})
                   for _ in range(3)]
    finally:
        api.app.config["LOGIN_RATE_LIMIT"] = "10 per minute"
    assert answers[-1].status_code == 429 and answers[-1].mimetype == "application/problem+json"
    assert answers[-1].get_json()["status"] == 429 and answers[-1].get_json()["detail"]


def test_every_problem_kind_is_documented():
    docs = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    for kind in KINDS:
        assert f"`{kind}`" in docs, kind


# Values beyond what the database holds are refused in code the API does not own; each of these
# was a 500 once.
BEYOND = 2**70


@pytest.mark.parametrize("values", [{"employees": BEYOND}, {"parent": BEYOND}, {"annual_revenue": "1e400"}],
                         ids=["integer", "lookup", "decimal"])
def test_a_value_beyond_the_column_is_a_422_not_a_500(api, tag, values):
    response = api.post("/api/v1/account", {"name": f"{tag} Acme", **values})
    assert response.status_code == 422, response.get_json()


@pytest.mark.parametrize("query", [f"parent={BEYOND}", "created_at__gte=9999-12-31"], ids=["id", "last-day"])
def test_a_filter_value_beyond_the_column_is_a_400_not_a_500(api, query):
    assert api.get(f"/api/v1/account?{query}").status_code == 400


def test_what_is_wrong_with_each_query_parameter_is_said_in_the_callers_language(api, problem):
    query = {"score__gte": "abc", "status": "nowhere", "limit": "0",
             "filter": '{"or": [{"score__between": [1]}]}'}
    english = problem(api.get("/api/v1/lead", user="boss", query_string=query), 400)["errors"]
    chinese = problem(api.get("/api/v1/lead", user="mei", query_string=query), 400)["errors"]
    assert english["score__gte"] == ["expected a number, got 'abc'"]
    assert chinese["score__gte"] == ["应为数字，实际为 'abc'"]
    assert english["status"][0].startswith("'nowhere' is not one of the options (")
    assert chinese["status"][0].startswith("“nowhere”不是可选值（")
    assert english["limit"] == ["expected a whole number from 1 to 1000, got '0'"]
    assert chinese["limit"] == ["应为 1 到 1000 之间的整数，实际为 '0'"]
    assert english["filter"] == ["or.0.score__between: 'between' takes a list of two values [low, high]"]
    assert chinese["filter"] == ["or.0.score__between：“between”需要包含两个值的列表 [下限, 上限]"]
    # the engine's other checks run once the parameters parse: sort and fields, with suggestions
    query = {"sort": "-scor", "fields": "name,compny"}
    english = problem(api.get("/api/v1/lead", user="boss", query_string=query), 400)["errors"]
    chinese = problem(api.get("/api/v1/lead", user="mei", query_string=query), 400)["errors"]
    assert english["sort"] == ["unknown field 'scor' (did you mean 'score'?)"]
    assert chinese["sort"] == ["未知字段“scor”（您是否指“score”？）"]
    assert english["fields"] == ["unknown field 'compny' (did you mean 'company'?)"]
    assert chinese["fields"] == ["未知字段“compny”（您是否指“company”？）"]
