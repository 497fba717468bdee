"""The builder's automation section: flows listed, switched off and on through a plan (served
with no restart), drawn as diagrams, tried on a record (nothing kept) and checked by their tests."""

from __future__ import annotations

import re

import pytest

from tessera.app import ORGS_KEY
from tessera.storage.overlay import DocumentChange

from .conftest import HTMX


@pytest.fixture(scope="module")
def site(demo_site_factory):
    return demo_site_factory("admin-automation")


def records_of(site):
    """The default org's record service as requests see it now (rebuilt after each change)."""
    return site.extensions[ORGS_KEY].records("default")


def version_in(page: str) -> str:
    return re.search(r'name="version" value="(\d+)"', page).group(1)


def apply(client, csrf, plan_page: str):
    token = re.search(r'name="change" value="([^"]+)"', plan_page).group(1)
    return client.post("/admin/changes/apply", data={"csrf_token": csrf(client, "/admin/"), "change": token})


def open_opportunity(records) -> dict:
    """A new opportunity in the first stage (its flows ran: it has a stage_changed_at)."""
    import datetime as dt

    with records.unit_of_work() as work:
        account = work.create("account", {"name": "Automation test account"})
        created = work.create("opportunity", {"name": "Automation test deal", "account": account["id"], "stage": "qualify",
                                              "close_date": (dt.date.today() + dt.timedelta(days=30)).isoformat()})
    return records.get("opportunity", created["id"])


def test_the_list_shows_every_flow_with_its_kind_trigger_and_state(sign_in):
    page = sign_in().get("/admin/automation").get_data(as_text=True)
    for name in ("opportunity_stage_changed", "opportunity_stages", "quote_discount_approval", "receivable_overdue"):
        assert f'data-flow="{name}"' in page
    assert "Record-triggered" in page and "Stage machine" in page and "Approval process" in page
    assert "On create / update, before saving" in page and "Every day at 00:30" in page
    zh = sign_in(lang="zh-CN").get("/admin/automation").get_data(as_text=True)
    assert "阶段变更" in zh  # the flow's label in the reader's language


def test_deactivating_a_flow_goes_through_a_plan_and_stops_it_on_the_next_write(site, sign_in, csrf):
    admin = sign_in()
    opportunity = open_opportunity(records_of(site))
    flow_url = "/admin/automation/opportunity_stage_changed"
    page = admin.get(flow_url).get_data(as_text=True)
    assert 'id="flow-status">Active' in page
    plan = admin.post(f"{flow_url}/active", data={"csrf_token": csrf(admin, flow_url), "active": "false",
                                                  "version": version_in(page)})
    text = plan.get_data(as_text=True)
    assert plan.status_code == 200 and "Deactivate the flow Stage changed" in text and "active: false" in text
    assert apply(admin, csrf, text).status_code == 303

    records = records_of(site)
    assert records.flows.flows["opportunity_stage_changed"].active is False
    with records.unit_of_work() as work:
        saved = work.update("opportunity", opportunity["id"], {"stage": "needs"}, version=None)
    assert saved["stage_changed_at"] == opportunity["stage_changed_at"]  # the flow did not run
    assert "Inactive" in admin.get("/admin/automation").get_data(as_text=True)

    page = admin.get(flow_url).get_data(as_text=True)
    plan = admin.post(f"{flow_url}/active", data={"csrf_token": csrf(admin, flow_url), "active": "true",
                                                  "version": version_in(page)}).get_data(as_text=True)
    assert "Activate the flow" in plan and "Remove" in plan  # on again: the org's change goes away
    assert apply(admin, csrf, plan).status_code == 303
    records = records_of(site)
    with records.unit_of_work() as work:
        saved = work.update("opportunity", opportunity["id"], {"stage": "qualify"}, version=None)
    assert saved["stage_changed_at"] != opportunity["stage_changed_at"] and saved["probability"] == 10


def test_a_stale_form_gets_the_conflict_page(sign_in, csrf):
    admin = sign_in()
    url = "/admin/automation/receivable_overdue"
    answer = admin.post(f"{url}/active", data={"csrf_token": csrf(admin, url), "active": "false", "version": "987"})
    assert answer.status_code == 409 and "changed by someone else" in answer.get_data(as_text=True)


def test_the_diagram_shows_each_step_branches_side_by_side_and_nested_groups(site, sign_in):
    steps = [
        {"type": "branch", "if": "amount > 1000",
         "then": [{"type": "set_fields", "values": {"next_step": "'Call the <b>boss</b>'"}}],
         "else": [{"type": "set_fields", "values": {"next_step": "'Email'"}}]},
        {"type": "decision", "name": "size", "outcomes": [
            {"name": "big", "when": "amount > 100000", "steps": [{"type": "set_fields", "values": {"next_step": "'Big'"}}]}],
         "default": [{"type": "set_fields", "values": {"next_step": "'Small'"}}]},
        {"type": "loop", "object": "opportunity_contact_role", "field": "opportunity",
         "steps": [{"type": "set_fields", "values": {"relationship_notes": "'Looped'"}}]},
        {"type": "wait", "until": "close_date - 7",
         "steps": [{"type": "notify", "to": [{"field": "owner_id"}], "title": "'Check in on ' & name"}]},
    ]
    site.extensions[ORGS_KEY].metadata("default").apply(
        [DocumentChange.upsert("flow", "diagram_demo", {
            "label": {"en": "Diagram demo", "zh-CN": "流程图示例"}, "object": "opportunity", "active": False,
            "trigger": {"type": "record", "events": ["update"], "timing": "after_save"}, "steps": steps})],
        expected_versions={("flow", "diagram_demo"): 0}, actor="test", summary="a flow to draw")
    page = sign_in().get("/admin/automation/diagram_demo").get_data(as_text=True)
    for where in ("steps[0]", "steps[0].then[0]", "steps[0].else[0]", "steps[1]", "steps[1].outcomes[0].steps[0]",
                  "steps[1].default[0]", "steps[2]", "steps[2].steps[0]", "steps[3]", "steps[3].steps[0]"):
        assert f'data-step="{where}"' in page, where
    assert page.count('class="flow-split"') == 2 and page.count('class="flow-group"') == 2
    assert "If / else" in page and "Decision" in page and "Loop over related records" in page and "Wait" in page
    assert "amount &gt; 1000" in page and "&#39;Call the &lt;b&gt;boss&lt;/b&gt;&#39;" in page  # escaped
    assert "For each Opportunity contact role record" in page and "the user in Owner" in page


def test_stage_machines_and_approval_processes_have_their_own_diagrams(sign_in):
    admin = sign_in()
    stages = admin.get("/admin/automation/opportunity_stages").get_data(as_text=True)
    assert 'id="stage-grid"' in stages and 'data-step="transitions[1]"' in stages and "amount &gt; 0" in stages
    approval = admin.get("/admin/automation/quote_discount_approval").get_data(as_text=True)
    assert 'data-step="approval.steps[0]"' in approval and 'data-step="approval.steps[1]"' in approval
    assert "the manager of the user in Owner" in approval and "When approved" in approval


def test_a_dry_run_shows_the_log_and_writes_nothing(site, sign_in, csrf):
    admin = sign_in()
    url = "/admin/automation/opportunity_stage_changed"
    opportunity = open_opportunity(records_of(site))
    answer = admin.post(f"{url}/try", data={"csrf_token": csrf(admin, url), "record": str(opportunity["id"]),
                                            "changes": "stage=needs\n", "mode": "update"})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and 'id="dry-run-log"' in page
    assert "probability = 30" in page and "Dry run: nothing was written." in page
    after = records_of(site).get("opportunity", opportunity["id"])
    assert after["version"] == opportunity["version"] and after["stage"] == "qualify"

    fragment = admin.post(f"{url}/try", headers=HTMX, data={"csrf_token": csrf(admin, url), "record": "abc"})
    text = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in text and "Give the id of a record" in text
    for form, said in ((("record", "99999999"),), "There is no Opportunity with the id 99999999"), \
                      ((("record", "9" * 30),), "Give the id of a record"), \
                      ((("record", str(opportunity["id"])), ("changes", "nope=1")), "nope"), \
                      ((("record", str(opportunity["id"])), ("changes", "stage")), "Line 1: write field=value."):
        text = admin.post(f"{url}/try", data={"csrf_token": csrf(admin, url), **dict(form)}).get_data(as_text=True)
        assert said in text and 'role="alert"' in text
    zh = sign_in(lang="zh-CN")
    text = zh.post(f"{url}/try", data={"csrf_token": csrf(zh, url), "record": str(opportunity["id"]),
                                       "changes": "nope=1"}).get_data(as_text=True)
    assert "没有名为“nope”的字段。" in text  # the refusal in the reader's language


def test_the_shipped_flow_tests_run_from_the_page(sign_in, csrf):
    admin = sign_in()
    url = "/admin/automation/opportunity_stages"
    assert "opportunity_stages.test.yaml" in admin.get(url).get_data(as_text=True)
    page = admin.post(f"{url}/tests", data={"csrf_token": csrf(admin, url)}).get_data(as_text=True)
    assert page.count('data-passed="true"') == 6 and "6 of 6 cases passed" in page
    assert "a deal is won from negotiation" in page


def test_unknown_flows_are_404_and_other_roles_403(sign_in, csrf):
    admin = sign_in()
    assert admin.get("/admin/automation/no_such_flow").status_code == 404
    assert admin.post("/admin/automation/no_such_flow/try",
                      data={"csrf_token": csrf(admin, "/admin/"), "record": "1"}).status_code == 404
    rep = sign_in("zhang.wei")
    assert rep.get("/admin/automation").status_code == 403
    assert rep.post("/admin/automation/opportunity_stage_changed/active",
                    data={"csrf_token": csrf(rep), "active": "false", "version": "0"}).status_code == 403
