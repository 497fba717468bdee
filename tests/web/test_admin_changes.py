"""The builder's change path: the plan page, Apply with the signed change, conflicts, the
history and revert; admins only."""

from __future__ import annotations

import re

import pytest

from tessera.storage.overlay import DocumentChange
from tessera.web.admin.changes import Pending, propose

TICKET = {"label": {"en": "Ticket", "zh-CN": "工单"}, "plural_label": {"en": "Tickets", "zh-CN": "工单"},
          "fields": {"name": {"type": "text", "label": {"en": "Subject", "zh-CN": "主题"}, "required": True}}}


@pytest.fixture(scope="module")
def builder_site(demo_site_factory):
    return demo_site_factory("admin-changes")


@pytest.fixture
def admin(builder_site):
    from tests.web.conftest import DEMO_PASSWORD, csrf

    client = builder_site.test_client()
    client.post("/login", data={"org": "default", "username": "admin", "password": DEMO_PASSWORD,
                                "csrf_token": csrf(client, "/login")})
    client.get("/?lang=en")
    return client


def token_for(site, client, pending: Pending) -> str:
    with site.test_request_context():
        return pending.dumps()


def changes_of(site):
    return site.extensions["tessera.orgs"].metadata("default")


def test_the_plan_page_shows_the_documents_and_the_new_table_and_apply_makes_it(builder_site, admin, csrf):
    pending = Pending([DocumentChange.upsert("object", "ticket", TICKET)], {("object", "ticket"): 0},
                      "Add tickets", "/admin/")
    with builder_site.test_request_context("/admin/"):
        from flask import g

        g.actor = builder_site.extensions["tessera.platform"].user("default", "admin").actor()
        page, status = propose(pending)
    assert status == 200 and "Create the table ticket" in page and 'id="apply-change"' in page
    token = re.search(r'name="change" value="([^"]+)"', page).group(1)

    applied = admin.post("/admin/changes/apply", data={"change": token, "csrf_token": csrf(admin, "/admin/")})
    assert applied.status_code == 303
    assert "ticket" in builder_site.extensions["tessera.orgs"].get("default").registry.objects
    history = admin.get("/admin/history").get_data(as_text=True)
    assert "Add tickets" in history and "user:admin" in history

    again = admin.post("/admin/changes/apply", data={"change": token, "csrf_token": csrf(admin, "/admin/")})
    assert again.status_code == 409  # it read "no ticket yet", which is no longer so
    said = again.get_data(as_text=True)
    latest = changes_of(builder_site).history(limit=1)[0].id
    assert f"Object ticket was changed by someone else (change {latest})" in said  # who, by number


def test_a_tampered_change_is_refused_and_changes_nothing(builder_site, admin, csrf):
    before = len(changes_of(builder_site).history())
    token = token_for(builder_site, admin, Pending([DocumentChange.upsert("object", "memo", TICKET)],
                                                   {("object", "memo"): 0}, "Memos", "/admin/"))
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    answer = admin.post("/admin/changes/apply", data={"change": forged, "csrf_token": csrf(admin, "/admin/")})
    assert answer.status_code == 400 and "cannot be read" in answer.get_data(as_text=True)
    assert len(changes_of(builder_site).history()) == before


def test_a_change_is_reverted_from_its_page(builder_site, admin, csrf):
    changes = changes_of(builder_site)
    result = changes.apply([DocumentChange.upsert("object", "note_card", TICKET)],
                           expected_versions={("object", "note_card"): 0}, actor="user:admin", summary="Note cards")
    page = admin.get(f"/admin/history/{result.change_id}").get_data(as_text=True)
    assert "Note cards" in page and "Subject" in page  # the document as YAML
    reverted = admin.post(f"/admin/history/{result.change_id}/revert", data={"csrf_token": csrf(admin, "/admin/")})
    assert reverted.status_code == 303
    assert "note_card" not in builder_site.extensions["tessera.orgs"].get("default").registry.objects
    assert changes.change(result.change_id).reverted_by is not None


def test_the_builder_is_for_admins_only(builder_site):
    from tests.web.conftest import DEMO_PASSWORD, csrf

    client = builder_site.test_client()
    client.post("/login", data={"org": "default", "username": "zhang.wei", "password": DEMO_PASSWORD,
                                "csrf_token": csrf(client, "/login")})
    for path in ("/admin/", "/admin/history"):
        assert client.get(path).status_code == 403
    assert client.post("/admin/changes/apply", data={"change": "x", "csrf_token": csrf(client, "/")}).status_code == 403
