"""The builder's roles and packages sections: the permission matrix and field-level security
saved through a plan (served with no restart, concurrent edits never lost), new roles, and
installing a template in one transaction."""

from __future__ import annotations

import re

import pytest

from tessera.app import ORGS_KEY
from tessera.storage.overlay import DocumentChange
from tessera.storage.sync import recorded_packages

from .conftest import DEMO_PASSWORD


@pytest.fixture(scope="module")
def site(demo_site_factory):
    app = demo_site_factory("admin-roles")
    app.extensions["tessera.platform"].create_user("default", "second.admin", DEMO_PASSWORD, "admin")
    return app


def registry_of(site):
    return site.extensions[ORGS_KEY].get("default").registry


def matrix_form(page: str) -> dict[str, str]:
    """The role page's form as a browser would post it: the checked boxes and the version."""
    form = {name: "1" for name in re.findall(r'name="(perm:[^"]+)" value="1" checked', page)}
    form["version"] = re.search(r'name="version" value="(\d+)"', page).group(1)
    return form


def apply(client, csrf, plan_page: str):
    token = re.search(r'name="change" value="([^"]+)"', plan_page).group(1)
    return client.post("/admin/changes/apply", data={"csrf_token": csrf(client, "/admin/"), "change": token})


def test_the_roles_list_and_an_admin_role_shown_as_unrestricted(sign_in, csrf):
    admin = sign_in()
    page = admin.get("/admin/roles").get_data(as_text=True)
    assert 'data-role="sales_rep"' in page and 'data-role="admin"' in page and "Unrestricted" in page
    role = admin.get("/admin/roles/admin").get_data(as_text=True)
    assert 'id="role-unrestricted"' in role and 'id="permission-matrix"' not in role
    assert admin.post("/admin/roles/admin", data={"csrf_token": csrf(admin, "/admin/"), "version": "0"}).status_code == 400
    assert admin.get("/admin/roles/no_such_role").status_code == 404
    assert admin.get("/admin/roles/sales_rep/fields/no_such_object").status_code == 404


def test_taking_away_a_permission_refuses_the_users_of_the_role_at_once(site, sign_in, csrf):
    rep = sign_in("zhang.wei")
    assert rep.get("/o/lead").status_code == 200
    admin = sign_in()
    page = admin.get("/admin/roles/sales_rep").get_data(as_text=True)
    form = matrix_form(page)
    assert form.pop("perm:lead:read") == "1" and "perm:account:read" in form
    plan = admin.post("/admin/roles/sales_rep", data={"csrf_token": csrf(admin, "/admin/"), **form})
    text = plan.get_data(as_text=True)
    assert plan.status_code == 200 and "Object permissions of the role Sales rep" in text
    assert "lead: [create, edit]" in text  # the role document the overlay will hold
    assert apply(admin, csrf, text).status_code == 303

    assert registry_of(site).roles["sales_rep"].permissions("lead") == frozenset({"create", "edit"})
    assert rep.get("/o/lead").status_code == 403  # the same session, no restart
    assert rep.get("/o/account").status_code == 200  # the rest of the matrix is as it was

    change = site.extensions[ORGS_KEY].metadata("default").history(limit=1)[0]
    reverted = admin.post(f"/admin/history/{change.id}/revert", data={"csrf_token": csrf(admin, "/admin/")})
    assert reverted.status_code == 303
    assert rep.get("/o/lead").status_code == 200


def test_two_admins_editing_the_same_role_from_the_same_version(site, sign_in, csrf):
    first, second = sign_in(), sign_in("second.admin")
    page = first.get("/admin/roles/marketing").get_data(as_text=True)
    mine, theirs = matrix_form(page), matrix_form(second.get("/admin/roles/marketing").get_data(as_text=True))
    mine["perm:campaign:import"] = "1"
    theirs["perm:contact:delete"] = "1"
    plan_a = first.post("/admin/roles/marketing", data={"csrf_token": csrf(first, "/admin/"), **mine})
    plan_b = second.post("/admin/roles/marketing", data={"csrf_token": csrf(second, "/admin/"), **theirs})
    assert plan_a.status_code == plan_b.status_code == 200

    assert apply(first, csrf, plan_a.get_data(as_text=True)).status_code == 303
    late = apply(second, csrf, plan_b.get_data(as_text=True))
    assert late.status_code == 409 and 'id="change-conflict"' in late.get_data(as_text=True)
    again = second.post("/admin/roles/marketing", data={"csrf_token": csrf(second, "/admin/"), **theirs})
    assert again.status_code == 409  # the form's version is stale too

    role = registry_of(site).roles["marketing"]
    assert "import" in role.permissions("campaign") and "delete" not in role.permissions("contact")


def test_field_permissions_are_saved_for_one_object(site, sign_in, csrf):
    admin = sign_in()
    url = "/admin/roles/sales_rep/fields/lead"
    page = admin.get(url).get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    plan = admin.post(url, data={"csrf_token": csrf(admin, url), "version": version, "level:phone": "hidden",
                                 "level:email": "read_only", "level:id": "hidden", "level:nope": "hidden"})
    text = plan.get_data(as_text=True)
    assert plan.status_code == 200 and "lead.phone: hidden" in text and "account.annual_revenue: hidden" in text
    assert apply(admin, csrf, text).status_code == 303
    fields = registry_of(site).roles["sales_rep"].fields
    assert fields[("lead", "phone")] == "hidden" and fields[("lead", "email")] == "read_only"
    assert ("lead", "id") not in fields and fields[("account", "annual_revenue")] == "hidden"


def test_a_new_role_starts_from_another_roles_permissions(site, sign_in, csrf):
    admin = sign_in()
    form = {"csrf_token": csrf(admin, "/admin/roles/_new"), "name": "key_account", "label_en": "Key account <b>",
            "label_zh": "大客户经理", "copy_from": "sales_rep", "reports_to": "sales_manager"}
    bad = admin.post("/admin/roles/_new", data={**form, "name": "Key Account", "label_zh": ""})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "Lowercase letters" in text and "Give the label in both languages." in text
    plan = admin.post("/admin/roles/_new", data=form)
    text = plan.get_data(as_text=True)
    assert plan.status_code == 200 and "Add the role Key account &lt;b&gt;" in text
    assert apply(admin, csrf, text).status_code == 303
    role = registry_of(site).roles["key_account"]
    assert role.reports_to == "sales_manager" and role.label("zh-CN") == "大客户经理"
    assert role.objects == registry_of(site).roles["sales_rep"].objects
    assert 'data-role="key_account"' in admin.get("/admin/roles").get_data(as_text=True)


def test_installing_a_template_shows_its_plan_and_its_objects_appear(demo_site_factory, csrf):
    app = demo_site_factory("admin-packages")
    client = app.test_client()
    client.post("/login", data={"org": "default", "username": "admin", "password": DEMO_PASSWORD,
                                "csrf_token": csrf(client, "/login")})
    client.get("/?lang=en")
    page = client.get("/admin/packages").get_data(as_text=True)
    assert 'data-package="l2c"' in page and 'data-template="saas"' in page and 'data-template="fmcg"' in page
    assert client.get("/o/saas_subscription").status_code == 404

    plan = client.post("/admin/packages/install", data={"csrf_token": csrf(client, "/admin/"), "template": "saas"})
    text = plan.get_data(as_text=True)
    assert plan.status_code == 200 and "saas_subscription" in text and "create table saas_subscription" in text
    token = re.search(r'name="change" value="([^"]+)"', text).group(1)
    tampered = client.post("/admin/packages/install/apply", data={"csrf_token": csrf(client, "/admin/"),
                                                                  "change": token[:-2] + "xx"})
    assert tampered.status_code == 400
    app.extensions[ORGS_KEY].metadata("default").apply(  # another admin changes the overlay meanwhile
        [DocumentChange.upsert("role", "auditor", {"label": {"en": "Auditor", "zh-CN": "审计"}})],
        expected_versions={("role", "auditor"): 0}, actor="test", summary="a role")
    moved = client.post("/admin/packages/install/apply", data={"csrf_token": csrf(client, "/admin/"), "change": token})
    text = moved.get_data(as_text=True)
    assert moved.status_code == 409 and 'id="plan-moved"' in text
    assert client.get("/o/saas_subscription").status_code == 404  # nothing was installed
    token = re.search(r'name="change" value="([^"]+)"', text).group(1)
    done = client.post("/admin/packages/install/apply", data={"csrf_token": csrf(client, "/admin/"), "change": token})
    assert done.status_code == 303

    assert client.get("/o/saas_subscription").status_code == 200  # served at once
    page = client.get("/admin/packages").get_data(as_text=True)
    assert 'data-package="saas"' in page and 'data-template="saas"' not in page
    runtime = app.extensions[ORGS_KEY].get("default")
    assert "saas" in {p["name"] for p in recorded_packages(runtime.db)}  # the org keeps it
    again = client.post("/admin/packages/install/apply", data={"csrf_token": csrf(client, "/admin/"), "change": token})
    assert again.status_code == 409
    assert client.post("/admin/packages/install", data={"csrf_token": csrf(client, "/admin/"),
                                                        "template": "no_such"}).status_code == 404


def test_other_roles_may_not_open_the_builder(sign_in, csrf):
    rep = sign_in("zhang.wei")
    for path in ("/admin/roles", "/admin/roles/sales_rep", "/admin/packages", "/admin/roles/_new"):
        assert rep.get(path).status_code == 403, path
    token = csrf(rep)
    assert rep.post("/admin/roles/sales_rep", data={"csrf_token": token, "version": "0"}).status_code == 403
    assert rep.post("/admin/packages/install", data={"csrf_token": token, "template": "saas"}).status_code == 403
