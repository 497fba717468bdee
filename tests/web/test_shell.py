"""The app shell: navigation from the metadata apps, home, notifications, global search,
languages and error pages."""

from __future__ import annotations

import datetime as dt
import re

from tessera.records.service import SYSTEM

HTMX = {"HX-Request": "true"}


def menu_objects(html: str) -> set[str]:
    return set(re.findall(r'class="dropdown-item" href="/o/\w+" data-object="(\w+)"', html))


def test_navigation_lists_the_apps_objects_a_user_may_read(sign_in, site):
    registry = site.extensions["tessera"]
    rep = menu_objects(sign_in("zhang.wei").get("/").get_data(as_text=True))
    assert {"lead", "account", "opportunity", "quote", "product", "campaign"} <= rep
    assert not rep & {"invoice", "payment", "contract", "order", "campaign_member"}  # not the rep's to read
    admin_page = sign_in("admin").get("/").get_data(as_text=True)
    in_apps = {item["object"] for app in registry.apps.values() for item in app.data["menu"] if "object" in item}
    assert menu_objects(admin_page) == in_apps
    assert [label for label in ("Sales", "Marketing", "Products and pricing", "Finance") if label in admin_page]
    assert admin_page.index(">Sales<") < admin_page.index(">Marketing<") < admin_page.index(">Finance<")


def test_only_admins_get_the_admin_menu(sign_in):
    assert 'id="app-admin"' in sign_in("admin").get("/").get_data(as_text=True)
    rep = sign_in("zhang.wei")
    assert 'id="app-admin"' not in rep.get("/").get_data(as_text=True)
    assert rep.get("/admin/metadata").status_code == 403
    assert "Metadata loaded" in sign_in("admin").get("/admin/metadata").get_data(as_text=True)


def test_home_shows_the_users_apps_and_recent_records(sign_in, records, actor):
    rep = actor("zhang.wei")
    page = sign_in("zhang.wei").get("/").get_data(as_text=True)
    assert "Welcome," in page and "Your apps" in page
    newest = records.query("lead", actor=SYSTEM, filter={"owner_id": rep.id}, sort=["-updated_at"], limit=1).rows
    assert newest and f'href="/o/lead/{newest[0]["id"]}"' in page


def test_the_home_page_counts_planned_activities_due_today_or_overdue(sign_in, records, actor):
    rep = actor("wang.fang")
    client = sign_in("wang.fang")
    before = _badge(client.get("/").get_data(as_text=True))
    lead = records.query("lead", actor=SYSTEM, filter={"owner_id": rep.id}, limit=1).rows[0]["id"]
    now = dt.datetime.now(dt.UTC)
    planned = {"activity_type": "call", "status": "planned", "lead": lead}
    records.create("activity", {**planned, "subject": "Call back (overdue)", "start_at": now - dt.timedelta(days=2)},
                   actor=rep)
    records.create("activity", {**planned, "subject": "Call back (today)", "start_at": now}, actor=rep)
    records.create("activity", {**planned, "subject": "Call next week", "start_at": now + dt.timedelta(days=7)},
                   actor=rep)
    page = client.get("/").get_data(as_text=True)
    assert _badge(page) == before + 2
    link = re.search(r'id="due-title".*?<a href="([^"]+)"', page, re.S).group(1).replace("&amp;", "&")
    due = client.get(link).get_data(as_text=True)
    assert "Call back (overdue)" in due and "Call back (today)" in due and "Call next week" not in due


def _badge(html: str) -> int:
    return int(re.search(r'id="due-title".*?: (\d+)\+?</a>', html, re.S).group(1))


def test_global_search_finds_records_across_objects(sign_in, records):
    lead = records.query("lead", actor=SYSTEM, fields=["name", "company"], filter={"company__is_blank": False},
                         limit=1).rows[0]
    page = sign_in().get(f"/search?q={lead['company']}").get_data(as_text=True)
    assert f'href="/o/lead/{lead["id"]}"' in page and 'data-object="lead"' in page
    fragment = sign_in().get(f"/search?q={lead['company']}", headers=HTMX)
    assert "<html" not in fragment.get_data(as_text=True) and f'/o/lead/{lead["id"]}' in fragment.get_data(as_text=True)


def test_global_search_shows_a_rep_only_what_they_may_read(sign_in, records, actor):
    rep = actor("zhang.wei")
    other = records.query("lead", actor=SYSTEM, fields=["company"],
                          filter={"owner_id__ne": rep.id, "status__ne": "unassigned", "company__is_blank": False},
                          limit=1).rows[0]
    page = sign_in("zhang.wei").get(f"/search?q={other['company']}").get_data(as_text=True)
    assert f'/o/lead/{other["id"]}"' not in page
    assert "invoice" not in re.findall(r'data-object="(\w+)"', page)


def test_search_without_a_term_asks_for_one(sign_in):
    page = sign_in().get("/search").get_data(as_text=True)
    assert "Type a name, a company" in page


def test_the_language_switch_sticks_for_the_following_pages(sign_in):
    client = sign_in("zhang.wei", lang="en")
    assert "Leads" in client.get("/o/lead").get_data(as_text=True)
    page = client.get("/o/lead?lang=zh-CN").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and "线索" in page and "联系人姓名" in page
    fragment = client.get("/o/lead?view=all", headers=HTMX).get_data(as_text=True)  # no ?lang: the session's
    assert "联系人姓名" in fragment and "Contact name" not in fragment
    assert 'href="/o/lead?view=all&amp;lang=en"' in client.get("/o/lead?view=all").get_data(as_text=True)


def test_unknown_pages_get_the_shells_404(sign_in):
    response = sign_in().get("/no/such/page")
    assert response.status_code == 404 and 'id="error-title"' in response.get_data(as_text=True)


def test_the_api_keeps_its_problem_documents(sign_in):
    response = sign_in().get("/api/v1/spaceship")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
