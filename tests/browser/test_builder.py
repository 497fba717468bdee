"""The builder in a browser (issue 10's story): an admin makes a "Site Visit" object with a
lookup to account, a picklist, a date, a formula and a validation rule, puts it on a layout
and lets sales reps use it; a rep then creates visits through the generated form and the
API — all on the running server, with no restart."""

from __future__ import annotations

import datetime as dt

from playwright.sync_api import Page, expect


def set_value(page: Page, name: str, value: str) -> None:
    """Type into the input, or choose in the select, called ``name`` in the form shown."""
    field = page.locator(f"form [name='{name}']").first
    if field.evaluate("e => e.tagName") == "SELECT":
        field.select_option(value)
    elif field.get_attribute("type") == "checkbox":
        field.set_checked(value == "true")
    else:
        field.fill(value)


def apply_plan(page: Page) -> None:
    """On the plan page: the change is reviewed, then applied."""
    expect(page.get_by_role("heading", name="Review the change")).to_be_visible()
    assert page.locator("#apply-change").count(), page.locator("main").inner_text()
    page.locator("#apply-change").click()
    expect(page.locator(".alert-success")).to_contain_text("Applied")


def add_field(page: Page, type_name: str, values: dict[str, str]) -> None:
    page.goto(f"/admin/objects/site_visit/fields/new?type={type_name}")
    for name, value in values.items():
        set_value(page, name, value)
    page.locator("#save-field").click()
    apply_plan(page)


def test_an_admin_builds_site_visit_and_a_rep_uses_it_at_once(signed_in_page, live_server, screenshot):
    admin = signed_in_page("admin")
    admin.goto("/admin/objects")
    for name, value in {"name": "site_visit", "label_en": "Site visit", "label_zh": "拜访",
                        "plural_label_en": "Site visits", "plural_label_zh": "拜访", "icon": "map-pin",
                        "name_field_en": "Subject", "name_field_zh": "主题"}.items():
        admin.locator(f"form[action$='/admin/objects'] [name='{name}']").fill(value)
    admin.locator("#create-object").click()
    expect(admin.locator("main")).to_contain_text("Create the table site_visit")
    screenshot(admin, "builder-plan-new-object")
    apply_plan(admin)

    add_field(admin, "lookup", {"name": "account", "label_en": "Account", "label_zh": "客户", "target": "account",
                                "related_name": "site_visits", "on_delete": "restrict", "required": "true"})
    admin.goto("/admin/objects/site_visit/fields/new?type=picklist")
    for name, value in {"name": "outcome", "label_en": "Outcome", "label_zh": "结果"}.items():
        set_value(admin, name, value)
    if not admin.locator("[name='options-0-value']").count():
        admin.locator("#add-option").click()
    for name, value in {"options-0-value": "good", "options-0-en": "Good", "options-0-zh": "好"}.items():
        admin.locator(f"[name='{name}']").fill(value)
    admin.locator("[name='options-0-active']").check()
    admin.locator("#save-field").click()
    apply_plan(admin)
    add_field(admin, "date", {"name": "visit_date", "label_en": "Visit date", "label_zh": "拜访日期", "required": "true"})

    admin.goto("/admin/objects/site_visit/fields/new?type=formula")
    for name, value in {"name": "summary", "label_en": "Summary", "label_zh": "摘要",
                        "expression": "name & ' / ' & TEXT(visit_date)", "result": "text"}.items():
        set_value(admin, name, value)
    admin.locator("#check-formula").click()  # checked before it is saved
    expect(admin.locator("main")).to_contain_text("it gives text")
    admin.locator("#save-field").click()
    apply_plan(admin)

    admin.goto("/admin/objects/site_visit/rules/new")
    for name, value in {"name": "no_future_visits", "condition": "visit_date > TODAY()",
                        "message_en": "A visit cannot be in the future.", "message_zh": "拜访日期不能晚于今天。",
                        "error_field": "visit_date"}.items():
        set_value(admin, name, value)
    admin.locator("#save-rule").click()
    apply_plan(admin)

    admin.goto("/admin/layouts/site_visit/form")  # the form layout: two columns, the date on the right
    admin.get_by_role("button", name="Add a column to the section").first.click()
    move = admin.get_by_role("button", name="Move Visit date to the column on the right")
    expect(move).to_be_enabled()
    move.click()
    expect(admin.get_by_role("button", name="Move Visit date to the column on the left")).to_be_enabled()
    admin.locator("#layout-save").click()
    apply_plan(admin)

    admin.goto("/admin/roles/sales_rep")  # reps may create, read and edit visits
    for verb in ("create", "read", "edit"):
        box = admin.locator(f"[name='perm:site_visit:{verb}']")
        if box.count():
            box.check()
    admin.get_by_role("button", name="Review the change").click()
    apply_plan(admin)
    screenshot(admin, "builder-history")

    rep_actor = live_server.user("zhang.wei").actor()
    records = live_server.app.extensions["tessera.orgs"].records("default")
    records.create("account", {"name": "Visited Browser Co", "owner_id": rep_actor.id}, actor=rep_actor)
    today = dt.date.today().isoformat()

    rep = signed_in_page("zhang.wei")
    rep.goto("/o/site_visit/new")
    rep.locator("form [name='name']").fill("First browser visit")
    search = rep.locator("form [name='account__search']")
    search.fill("Visited Browser")
    rep.locator("[role=option][data-value]", has_text="Visited Browser Co").first.click()
    rep.locator("form select[name='outcome']").select_option("good")
    rep.locator("form [name='visit_date']").fill(today)
    rep.get_by_role("button", name="Save").click()
    expect(rep.locator("main")).to_contain_text(f"First browser visit / {today}")  # the formula, computed
    screenshot(rep, "builder-site-visit-record")

    token, _info = live_server.app.extensions["tessera.platform"].create_token(live_server.user("zhang.wei"), "builder")
    account = records.query("account", filter={"name": "Visited Browser Co"}, limit=1).rows[0]["id"]
    created = rep.request.post("/api/v1/site_visit", headers={"Authorization": f"Bearer {token}"},
                               data={"name": "API visit", "account": account, "visit_date": today})
    assert created.status == 201, created.text()
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    refused = rep.request.post("/api/v1/site_visit", headers={"Authorization": f"Bearer {token}"},
                               data={"name": "Later", "account": account, "visit_date": future})
    assert refused.status == 422 and "visit_date" in refused.json()["errors"]
