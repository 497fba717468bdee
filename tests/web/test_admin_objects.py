"""The object and field editor of the builder (/admin/objects): custom objects, fields of every
kind, validation rules, formula checks — each through its form, the plan page and Apply — and
then end users working with the new object at once, through the generated form and the API.
Concurrent edits, problems beside their inputs, retiring and restoring fields."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
from markupsafe import escape

from tessera.metadata.overlay import DocumentProblem
from tessera.storage.overlay import DocumentChange

from .conftest import DEMO_PASSWORD, HTMX, csrf
from .conftest_forms import form_inputs, replace


@pytest.fixture(scope="module")
def admin_site(demo_site_factory):
    return demo_site_factory("admin-objects")


@pytest.fixture(scope="module")
def signed_in(admin_site):
    """``signed_in(username)``: a client of this module's site with that demo user's session (English)."""

    def make(username: str = "admin"):
        client = admin_site.test_client()
        response = client.post("/login", data={"org": "default", "username": username, "password": DEMO_PASSWORD,
                                               "csrf_token": csrf(client, "/login")})
        assert response.status_code == 303, response.get_data(as_text=True)
        client.get("/?lang=en")
        return client

    return make


@pytest.fixture(scope="module")
def admin(signed_in):
    return signed_in("admin")


def registry(app):
    return app.extensions["tessera.orgs"].get("default").registry


def records(app):
    return app.extensions["tessera.orgs"].get("default").records


def post(client, path: str, data, **kwargs):
    from werkzeug.datastructures import MultiDict

    pairs = list(data.items()) if isinstance(data, dict) else list(data)
    return client.post(path, data=MultiDict([*pairs, ("csrf_token", csrf(client))]), **kwargs)


def apply(client, plan) -> str:
    """Press Apply on a plan page; the page applying led back to."""
    page = plan.get_data(as_text=True)
    assert plan.status_code == 200, page
    token = re.search(r'name="change" value="([^"]+)"', page).group(1)
    response = post(client, "/admin/changes/apply", {"change": token})
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"]


def submit(client, path: str, form_id: str, **values):
    """Post the form ``form_id`` of the page at ``path`` as shown, with ``values`` typed in."""
    page = client.get(path).get_data(as_text=True)
    return post(client, path, replace(form_inputs(page, form_id), **values))


def new_object(client, name: str, en: str, zh: str):
    plan = post(client, "/admin/objects", {"name": name, "label_en": en, "label_zh": zh, "plural_label_en": en + "s",
                                           "plural_label_zh": zh, "icon": "map-pin", "name_field_en": "Subject",
                                           "name_field_zh": "主题"})
    return plan


def add_field(client, obj: str, type_name: str, **values):
    return submit(client, f"/admin/objects/{obj}/fields/new?type={type_name}", "field-form", **values)


# ------------------------------------------------------------------------------ access

def test_only_admins_reach_the_object_manager(signed_in):
    assert signed_in("zhang.wei").get("/admin/objects").status_code == 403
    assert signed_in("zhang.wei").get("/admin/objects/account").status_code == 403


def test_the_list_marks_package_objects(admin):
    page = admin.get("/admin/objects").get_data(as_text=True)
    row = re.search(r'<tr data-name="account".*?</tr>', page, re.S).group(0)
    assert "package l2c" in row and "/admin/objects/account" in row
    assert 'href="/admin/objects"' in page  # the side navigation's section


# ------------------------------------------------------------------------------ the whole story

def test_an_admin_builds_site_visit_and_users_work_with_it_at_once(admin_site, admin, signed_in):
    plan = new_object(admin, "site_visit", "Site visit", "拜访")
    page = plan.get_data(as_text=True)
    assert "Create the table site_visit" in page and "Add the object site_visit" in page
    assert apply(admin, plan) == "/admin/objects/site_visit"
    assert registry(admin_site).objects["site_visit"].label("zh-CN") == "拜访"

    assert apply(admin, add_field(admin, "site_visit", "lookup", name="account", label_en="Account", label_zh="客户",
                                  target="account", on_delete="restrict", related_name="site_visits", required="true"))
    plan = add_field(admin, "site_visit", "picklist", name="outcome", label_en="Outcome", label_zh="结果",
                     **{"options-0-value": "good", "options-0-en": "Good", "options-0-zh": "好", "options-0-active": "true"})
    assert apply(admin, plan)
    assert apply(admin, add_field(admin, "site_visit", "date", name="visit_date", label_en="Visit date",
                                  label_zh="拜访日期", required="true"))
    # the formula is checked (htmx) before it is saved
    form = "/admin/objects/site_visit/fields/new?type=formula"
    page = admin.get(form).get_data(as_text=True)
    checked = post(admin, form, replace(form_inputs(page, "field-form"), name="summary", expression="name & ' / ' & TEXT(visit_date)",
                                        result="text", op="check"), headers=HTMX)
    assert checked.status_code == 200 and "it gives text" in checked.get_data(as_text=True)
    assert "<html" not in checked.get_data(as_text=True)  # the fragment alone
    assert apply(admin, add_field(admin, "site_visit", "formula", name="summary", label_en="Summary", label_zh="摘要",
                                  expression="name & ' / ' & TEXT(visit_date)", result="text"))
    plan = submit(admin, "/admin/objects/site_visit/rules/new", "rule-form", name="no_future_visits",
                  condition="visit_date > TODAY()", message_en="A visit cannot be in the future.",
                  message_zh="拜访日期不能晚于今天。", error_field="visit_date", active="true")
    assert apply(admin, plan)
    assert apply(admin, add_field(admin, "account", "rollup", name="site_visit_count", label_en="Site visits",
                                  label_zh="拜访次数", object="site_visit", aggregate="count"))
    obj = registry(admin_site).objects["site_visit"]
    assert [f.name for f in obj.fields.values() if not f.system] == ["name", "account", "outcome", "visit_date", "summary"]
    assert obj.fields["account"].target == "account" and obj.fields["outcome"].options[0].label("zh-CN") == "好"
    assert obj.validations[0].name == "no_future_visits"

    _grant(admin_site, "sales_rep", "site_visit")  # what the roles editor does
    rep = signed_in("zhang.wei")
    account = records(admin_site).create("account", {"name": "Visited Co", "owner_id": _user_id(admin_site, "zhang.wei")})["id"]
    today = dt.date.today()
    form = rep.get("/o/site_visit/new")
    assert form.status_code == 200
    page = form.get_data(as_text=True)
    assert 'name="visit_date"' in page and 'name="outcome"' in page
    saved = post(rep, "/o/site_visit/new", replace(form_inputs(page), name="First visit", account=str(account),
                                                   outcome="good", visit_date=today.isoformat()))
    assert saved.status_code == 303, saved.get_data(as_text=True)
    first = int(saved.headers["Location"].rsplit("/", 1)[1])
    assert records(admin_site).get("site_visit", first)["summary"] == f"First visit / {today.isoformat()}"

    token = _token(admin_site, "zhang.wei")
    body = {"name": "API visit", "account": account, "visit_date": today.isoformat()}
    created = rep.post("/api/v1/site_visit", json=body, headers={"Authorization": f"Bearer {token}"})
    assert created.status_code == 201, created.get_data(as_text=True)
    future = (today + dt.timedelta(days=3)).isoformat()
    refused = rep.post("/api/v1/site_visit", json={**body, "visit_date": future},
                       headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"visit_date": ["拜访日期不能晚于今天。"]}  # the token's user reads Chinese
    assert records(admin_site).get("account", account)["site_visit_count"] == 2  # the roll-up counts both
    again = post(rep, "/o/site_visit/new", replace(form_inputs(page), name="Later", account=str(account),
                                                   visit_date=future))
    assert again.status_code == 422 and "A visit cannot be in the future." in again.get_data(as_text=True)

    # the admin tries the formula and the rule on a stored record
    checked = post(admin, "/admin/objects/site_visit/fields/summary",
                   replace(form_inputs(admin.get("/admin/objects/site_visit/fields/summary").get_data(as_text=True),
                                       "field-form"), preview_id=str(first), op="check"))
    assert checked.status_code == 200
    assert f"On record {first} it gives: First visit / {today.isoformat()}" in checked.get_data(as_text=True)
    rule_page = "/admin/objects/site_visit/rules/no_future_visits"
    inputs = form_inputs(admin.get(rule_page).get_data(as_text=True), "rule-form")
    accepted = post(admin, rule_page, replace(inputs, record_id=str(first), op="test"), headers=HTMX)
    assert "This rule accepts the record." in accepted.get_data(as_text=True)
    refusing = post(admin, rule_page, replace(inputs, condition="visit_date >= TODAY()", record_id=str(first),
                                              op="test"), headers=HTMX)
    assert "This rule refuses the record, on Visit date: A visit cannot be in the future." in refusing.get_data(as_text=True)
    missing = post(admin, rule_page, replace(inputs, record_id="999999", op="test"), headers=HTMX)
    assert "could not be tried on record 999999" in missing.get_data(as_text=True)


def _grant(app, role: str, object_name: str) -> None:
    """Let ``role`` create, read and edit ``object_name`` (an overlay change to the role)."""
    found = registry(app).roles[role]
    objects = {name: sorted(perms) for name, perms in found.objects.items()}
    objects[object_name] = ["create", "edit", "read"]
    changes = app.extensions["tessera.orgs"].metadata("default")
    current = changes.document("role", role)
    changes.apply([DocumentChange.upsert("role", role, {"label": dict(found.label.values), "objects": objects})],
                  expected_versions={("role", role): current.version if current else 0}, actor="test", summary="grant")


def _user_id(app, username: str) -> int:
    return app.extensions["tessera.platform"].user("default", username).id


def _token(app, username: str) -> str:
    store = app.extensions["tessera.platform"]
    return store.create_token(store.user("default", username), "tests")[0]


# ------------------------------------------------------------------------------ problems beside their inputs

def test_a_bad_formula_is_shown_on_the_field_form_and_nothing_is_applied(admin_site, admin):
    changes = admin_site.extensions["tessera.orgs"].metadata("default")
    before = changes.history(limit=1)[0].id if changes.history(limit=1) else None
    response = add_field(admin, "account", "formula", name="bad_score", label_en="Bad", label_zh="坏",
                         expression="LEN(nmae) * 2", result="decimal")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    error = re.search(r'<div id="i-expression-error"[^>]*>(.*?)</div>', page, re.S).group(1)
    assert "unknown field &#39;nmae&#39;" in error and "did you mean" in error
    assert "LEN(nmae) * 2</textarea>" in page and 'value="bad_score"' in page  # what was typed is kept
    assert (changes.history(limit=1)[0].id if changes.history(limit=1) else None) == before
    assert "bad_score" not in registry(admin_site).objects["account"].fields


def test_the_check_button_says_where_the_formula_is_wrong(admin):
    path = "/admin/objects/account/fields/new?type=formula"
    inputs = form_inputs(admin.get(path).get_data(as_text=True), "field-form")
    checked = post(admin, path, replace(inputs, expression="ROUND(1 +, 2)", result="decimal", op="check"), headers=HTMX)
    fragment = checked.get_data(as_text=True)
    assert fragment.startswith('<div id="formula-check"') and "(line 1, column" in fragment
    wrong_type = post(admin, path, replace(inputs, expression="name", result="decimal", op="check"))
    page = wrong_type.get_data(as_text=True)
    assert wrong_type.status_code == 200 and "<html" in page  # a plain post: the whole form again
    assert "expected number, but the expression gives text" in page


def test_new_object_problems_stand_beside_their_inputs(admin):
    response = post(admin, "/admin/objects", {"name": "Bad Name", "label_en": "X"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="i-name-error"' in page and 'value="Bad Name"' in page
    response = post(admin, "/admin/objects", {"name": "half_labelled", "label_en": "Half", "plural_label_en": "Halves",
                                              "plural_label_zh": "半", "name_field_en": "Name", "name_field_zh": "名称"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="i-label-error"[^>]*>[^<]*zh-CN', page)
    assert 'value="Half"' in page


def test_user_text_is_escaped(admin):
    payload = '"><script>alert(1)</script>'
    response = post(admin, "/admin/objects", {"name": "escaped_probe", "label_en": payload, "label_zh": payload,
                                              "plural_label_en": payload, "plural_label_zh": payload,
                                              "name_field_en": "N", "name_field_zh": "N"})
    page = response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and str(escape(payload)) in page


# ------------------------------------------------------------------------------ concurrency

def test_two_admins_from_the_same_version_the_second_is_refused(admin_site, admin, signed_in):
    assert apply(admin, new_object(admin, "race_probe", "Race", "竞赛"))
    other = signed_in("admin")
    mine = form_inputs(admin.get("/admin/objects/race_probe").get_data(as_text=True), "object-settings-form")
    theirs = form_inputs(other.get("/admin/objects/race_probe").get_data(as_text=True), "object-settings-form")
    assert dict(mine)["version"] == dict(theirs)["version"] != "0"
    assert apply(admin, post(admin, "/admin/objects/race_probe", replace(mine, label_en="Race (mine)")))
    late = post(other, "/admin/objects/race_probe", replace(theirs, label_en="Race (theirs)"))
    assert late.status_code == 409 and 'id="change-conflict"' in late.get_data(as_text=True)
    # planned from the same version, applied one after the other: the second apply is refused too
    fresh = form_inputs(admin.get("/admin/objects/race_probe").get_data(as_text=True), "object-settings-form")
    first = post(admin, "/admin/objects/race_probe", replace(fresh, plural_label_en="Races A"))
    second = post(other, "/admin/objects/race_probe", replace(fresh, plural_label_en="Races B"))
    apply(admin, first)
    token = re.search(r'name="change" value="([^"]+)"', second.get_data(as_text=True)).group(1)
    assert post(other, "/admin/changes/apply", {"change": token}).status_code == 409
    obj = registry(admin_site).objects["race_probe"]
    assert obj.label("en") == "Race (mine)" and obj.plural_label("en") == "Races A"


# ------------------------------------------------------------------------------ removing fields

def test_removing_a_custom_field_retires_it_and_adding_it_back_restores_the_data(admin_site, admin):
    assert apply(admin, new_object(admin, "retire_probe", "Retire", "退役"))
    assert apply(admin, add_field(admin, "retire_probe", "text", name="note", label_en="Note", label_zh="备注"))
    kept = records(admin_site).create("retire_probe", {"name": "keeper", "note": "remember me"})
    page = admin.get("/admin/objects/retire_probe").get_data(as_text=True)
    version = dict(form_inputs(page, "object-settings-form"))["version"]
    plan = post(admin, "/admin/objects/retire_probe/fields/note/remove", {"version": version})
    assert "Retire a column of retire_probe (its data is kept)" in plan.get_data(as_text=True)
    apply(admin, plan)
    assert "note" not in registry(admin_site).objects["retire_probe"].fields
    assert "note" not in records(admin_site).get("retire_probe", kept["id"])
    plan = add_field(admin, "retire_probe", "text", name="note", label_en="Note", label_zh="备注")
    assert "Restore a retired column of retire_probe" in plan.get_data(as_text=True)
    apply(admin, plan)
    assert records(admin_site).get("retire_probe", kept["id"])["note"] == "remember me"


def test_package_fields_get_only_the_changes_and_remove_true(admin_site, admin):
    plan = submit(admin, "/admin/objects/contact/fields/title", "field-form", label_en="Position")
    after = re.findall(r'<pre class="border rounded p-2 small plan-yaml">(.*?)</pre>', plan.get_data(as_text=True), re.S)[-1]
    assert "Position" in after and "type:" not in after  # only what changed, over the package's field
    apply(admin, plan)
    assert registry(admin_site).objects["contact"].fields["title"].label("en") == "Position"
    # a package field is removed with remove: true (its column retired), and restored by dropping that
    plan = post(admin, "/admin/objects/opportunity/fields/is_won/remove", {"version": _version(admin, "opportunity")})
    text = plan.get_data(as_text=True)
    assert "is_won: {remove: true}" in text and "Retire a column of opportunity" in text
    apply(admin, plan)
    assert "is_won" not in registry(admin_site).objects["opportunity"].fields
    page = admin.get("/admin/objects/opportunity").get_data(as_text=True)
    assert 'id="removed-fields"' in page
    plan = post(admin, "/admin/objects/opportunity/fields/is_won/restore", {"version": _version(admin, "opportunity")})
    assert "Restore a retired column of opportunity" in plan.get_data(as_text=True)
    apply(admin, plan)
    assert "is_won" in registry(admin_site).objects["opportunity"].fields


def test_removing_a_field_something_reads_shows_the_problem_on_the_plan(admin):
    plan = post(admin, "/admin/objects/contact/fields/wechat/remove", {"version": _version(admin, "contact")})
    page = plan.get_data(as_text=True)
    assert plan.status_code == 422 and "unknown field &#39;wechat&#39;" in page and 'id="apply-change"' not in page


def _version(client, object_name: str) -> str:
    page = client.get(f"/admin/objects/{object_name}").get_data(as_text=True)
    return dict(form_inputs(page, "object-settings-form"))["version"]


# ------------------------------------------------------------------------------ every type, options, numbers

def test_every_registered_field_type_has_its_form(admin_site, admin):
    types = registry(admin_site).field_types
    chooser = admin.get("/admin/objects/account/fields/new").get_data(as_text=True)
    for name in types.names():
        assert f'id="t-{name}"' in chooser
        page = admin.get(f"/admin/objects/account/fields/new?type={name}")
        assert page.status_code == 200, name
    formula = admin.get("/admin/objects/account/fields/new?type=formula").get_data(as_text=True)
    assert 'name="expression"' in formula and 'name="result"' in formula and 'id="check-formula"' in formula
    lookup = admin.get("/admin/objects/account/fields/new?type=lookup").get_data(as_text=True)
    assert 'name="target"' in lookup and 'name="on_delete"' in lookup and 'name="default"' not in lookup
    rollup = admin.get("/admin/objects/account/fields/new?type=rollup").get_data(as_text=True)
    assert 'name="aggregate"' in rollup and 'name="required"' not in rollup
    assert admin.get("/admin/objects/account/fields/new?type=nonsense").status_code == 404


def test_picklist_options_are_added_moved_and_removed_without_script(admin):
    path = "/admin/objects/account/fields/new?type=picklist"
    inputs = replace(form_inputs(admin.get(path).get_data(as_text=True), "field-form"),
                     **{"options-0-value": "a", "options-0-en": "A", "options-0-zh": "甲", "options-0-active": "true"})

    def press(pairs, op):
        page = post(admin, path, replace(pairs, op=op)).get_data(as_text=True)
        return page, form_inputs(page, "field-form")

    page, inputs = press(inputs, "option:add")
    assert 'name="options-1-value"' in page and dict(inputs)["option_count"] == "2"
    inputs = replace([(k, v) for k, v in inputs if k != "options-1-active"],  # b is inactive
                     **{"options-1-value": "b", "options-1-en": "B", "options-1-zh": "乙"})
    page, inputs = press(inputs, "option:up:1")
    assert dict(inputs)["options-0-value"] == "b" and dict(inputs)["options-1-value"] == "a"
    assert dict(inputs)["options-1-active"] == "true" and "options-0-active" not in dict(inputs)  # each row keeps its own
    page, inputs = press(inputs, "option:remove:0")
    assert dict(inputs)["option_count"] == "1" and dict(inputs)["options-0-value"] == "a"


def test_package_picklists_get_new_options_merged_by_value(admin_site, admin):
    path = "/admin/objects/contact/fields/attitude"
    page = admin.get(path).get_data(as_text=True)
    assert "not removed or reordered" in page and 'value="option:up:0"' not in page
    inputs = form_inputs(page, "field-form")
    count = int(dict(inputs)["option_count"])
    plan = post(admin, path, replace(inputs, option_count=str(count + 1), **{
        f"options-{count}-value": "curious", f"options-{count}-en": "Curious", f"options-{count}-zh": "好奇",
        f"options-{count}-active": "true"}))
    after = re.findall(r'<pre class="border rounded p-2 small plan-yaml">(.*?)</pre>', plan.get_data(as_text=True), re.S)[-1]
    assert "curious" in after and after.count("value:") == 1  # only the new option, merged by value
    apply(admin, plan)
    options = registry(admin_site).objects["contact"].fields["attitude"].options
    assert options[-1].value == "curious" and len(options) == count + 1


def test_decimal_properties_go_through_the_plan(admin_site, admin):
    plan = add_field(admin, "account", "decimal", name="visit_budget", label_en="Visit budget", label_zh="拜访预算",
                     min="0.5", max="99.75", scale="2", default="1.25")
    assert plan.status_code == 200, plan.get_data(as_text=True)
    apply(admin, plan)
    found = registry(admin_site).objects["account"].fields["visit_budget"]
    assert (found.min, found.max, found.default) == (Decimal("0.5"), Decimal("99.75"), Decimal("1.25"))
    page = admin.get("/admin/objects/account/fields/visit_budget").get_data(as_text=True)
    assert 'value="99.75"' in page
    wrong = submit(admin, "/admin/objects/account/fields/visit_budget", "field-form", max="lots")
    assert wrong.status_code == 422 and re.search(r'id="i-max-error"[^>]*>Enter a number', wrong.get_data(as_text=True))


def test_new_field_names_are_checked(admin):
    for name, message in (("Bad-Name", "Use lowercase letters"), ("created_at", "reserves"), ("name", "already")):
        response = add_field(admin, "account", "text", name=name, label_en="X", label_zh="X")
        assert response.status_code == 422 and message in response.get_data(as_text=True), name


# ------------------------------------------------------------------------------ deactivating

def test_objects_fields_and_rules_are_deactivated_and_back(admin_site, admin):
    if "toggle_probe" not in registry(admin_site).objects:
        apply(admin, new_object(admin, "toggle_probe", "Toggle", "开关"))
    apply(admin, add_field(admin, "toggle_probe", "integer", name="count", label_en="Count", label_zh="数量", min="0"))
    apply(admin, submit(admin, "/admin/objects/toggle_probe/rules/new", "rule-form", name="small", condition="count > 10",
                        message_en="Too many.", message_zh="太多了。", active="true"))
    for url, check in (("/fields/count/active", lambda o: o.fields["count"].active),
                       ("/rules/small/active", lambda o: o.validations[0].active),
                       ("/active", lambda o: o.active)):
        apply(admin, post(admin, f"/admin/objects/toggle_probe{url}", {"version": _version(admin, "toggle_probe"),
                                                                        "active": "false"}))
        assert check(registry(admin_site).objects["toggle_probe"]) is False, url
        apply(admin, post(admin, f"/admin/objects/toggle_probe{url}", {"version": _version(admin, "toggle_probe"),
                                                                        "active": "true"}))
        assert check(registry(admin_site).objects["toggle_probe"]) is True, url
    plan = post(admin, "/admin/objects/toggle_probe/rules/small/remove", {"version": _version(admin, "toggle_probe")})
    apply(admin, plan)
    assert registry(admin_site).objects["toggle_probe"].validations == ()
    refused = post(admin, "/admin/objects/contact/rules/" + registry(admin_site).objects["contact"].validations[0].name
                   + "/remove", {"version": _version(admin, "contact")})
    assert refused.status_code == 400 and "comes from a package" in refused.get_data(as_text=True)


def test_a_rule_with_a_number_condition_is_refused_beside_the_condition(admin):
    response = submit(admin, "/admin/objects/account/rules/new", "rule-form", name="numeric_rule", condition="1 + 1",
                      message_en="No.", message_zh="不。", active="true")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="i-condition-error"[^>]*>expected boolean, but the expression gives number', page)


# ------------------------------------------------------------------------------ helpers

def test_place_puts_each_problem_at_the_longest_matching_input():
    from tessera.metadata.errors import Location
    from tessera.web.admin.objects import place

    where = Location("(overlay)/objects/x.yaml", 3, 4)
    problems = [DocumentProblem("bad label", where, "object", "x", ("fields", "f", "label", "zh-CN")),
                DocumentProblem("bad value", where, "object", "x", ("fields", "f", "options", 1, "value")),
                DocumentProblem("elsewhere", where, "object", "x", ("fields", "g", "label")),
                DocumentProblem("other object", where, "object", "y", ("fields", "f", "label")),
                DocumentProblem("in a package", Location("l2c/objects/a.yaml", 1, 1))]
    placed = place(problems, ("object", "x"), ("fields", "f"), ["label", "options", "options.1.value"])
    assert placed("label") == ["bad label"] and placed("options.1.value") == ["bad value"]
    assert placed.general == ["fields.g.label: elsewhere", "fields.f.label: other object",
                              "l2c/objects/a.yaml:1:1: in a package"]


def test_signable_keeps_numbers_json_can_carry():
    from tessera.web.admin.objects import signable

    assert signable({"a": [Decimal("2"), Decimal("0.25")], "b": "x"}) == {"a": [2, 0.25], "b": "x"}


def test_typed_inputs(app_context):
    from tessera.web.admin.fields import literal_default
    from tessera.web.admin.objects import typed

    assert typed("integer", "12") == 12 and typed("number", "0.10") == Decimal("0.10")
    with pytest.raises(ValueError):
        typed("integer", "1.5")
    with pytest.raises(ValueError):
        typed("number", "NaN")
    types = SimpleNamespace(**{n: registry_types()[n] for n in ("integer", "boolean", "multi_picklist", "date")})
    assert literal_default(types.integer, "-3") == -3 and literal_default(types.boolean, "false") is False
    assert literal_default(types.multi_picklist, "a, b,") == ["a", "b"] and literal_default(types.date, "2026-01-31") == "2026-01-31"


def registry_types():
    from tessera.fieldtypes import default_field_types

    return default_field_types()


@pytest.fixture
def app_context(admin_site):
    with admin_site.test_request_context("/"):
        yield


def test_option_rows_move_within_bounds():
    from tessera.web.admin.fields import FieldForm

    rows = [{"value": v, "en": v, "zh": v, "active": True} for v in "abc"]
    form = FieldForm(registry_types()["picklist"], "p", {}, [dict(r) for r in rows])
    form.move("up:0")
    form.move("down:2")
    form.move("remove:9")
    assert [r["value"] for r in form.options] == ["a", "b", "c"]
    form.move("down:0")
    form.move("remove:2")
    form.move("add")
    assert [r["value"] for r in form.options] == ["b", "a", ""]
    fixed = FieldForm(registry_types()["picklist"], "p", {}, [dict(r) for r in rows], frozenset("abc"))
    fixed.move("remove:0")
    assert len(fixed.options) == 3  # a package's options stay
