"""Plugin actions over HTTP (the example plugin's ``escalate`` on gadgets), and a plugin that fails."""

from __future__ import annotations


def gadget(api, tag):
    response = api.post("/api/v1/gadget", {"name": f"{tag} gadget"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_an_action_runs_with_its_input_and_returns_its_result(api, tag):
    made = gadget(api, tag)

    response = api.post(f"/api/v1/gadget/{made['id']}/actions/escalate", {"reason": "customer waiting"})

    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"priority": "high", "version": 2}
    record = api.get(f"/api/v1/gadget/{made['id']}").get_json()
    assert record["escalation_reason"] == "customer waiting" and record["priority"] == "high"


def test_action_input_is_checked_against_its_schema(api, tag, problem):
    made = gadget(api, tag)
    body = problem(api.post(f"/api/v1/gadget/{made['id']}/actions/escalate", {"reason": 5, "urgent": True}), 422)
    assert body["errors"] == {"reason": ["Enter text."], "urgent": ["There is no field called 'urgent'."]}
    missing = problem(api.post(f"/api/v1/gadget/{made['id']}/actions/escalate"), 422)
    assert missing["errors"] == {"reason": ["This field is required."]}
    assert api.get(f"/api/v1/gadget/{made['id']}").get_json()["priority"] == "normal"


def test_an_unknown_action_or_record_is_not_found(api, tag, problem):
    made = gadget(api, tag)
    body = problem(api.post(f"/api/v1/gadget/{made['id']}/actions/launch", {}), 404)
    assert "launch" in body["detail"]
    problem(api.post("/api/v1/lead/1/actions/escalate", {"reason": "x"}), 404)
    problem(api.post("/api/v1/gadget/999999/actions/escalate", {"reason": "x"}), 404)


def test_an_action_needs_the_callers_permission(api, tag, problem):
    made = gadget(api, tag)
    problem(api.post(f"/api/v1/gadget/{made['id']}/actions/escalate", {"reason": "x"}, user="alice"), 403)


def test_a_failing_plugin_is_a_500_problem_without_a_traceback_and_saves_nothing(api, tag, problem):
    body = problem(api.post("/api/v1/gadget", {"name": "explode", "rating": 3}), 500, "server-error")
    assert "example" in body["detail"] and "RuntimeError" not in body["detail"]
    assert api.get("/api/v1/gadget?name=explode").get_json()["data"] == []
