"""The record page: header and actions, details from the form layout, related lists, the activity
timeline, field history, plugin panels and actions, delete and restore — each as the user's
permissions allow, in their language, with everything typed escaped."""

from __future__ import annotations

import re
import sys
import types

from jinja2 import ChoiceLoader, DictLoader
from markupsafe import escape

from tessera.hookspecs import hookimpl
from tessera.web.extensions import RecordPanel

from tessera.records.service import SYSTEM

from .conftest_forms import Site, assert_escaped, forms_site, tag, text_of  # noqa: F401 - fixtures and helpers

PAYLOAD = "<script>alert(1)</script>"


def _lead(forms_site: Site, tag: str, **values) -> dict:
    owner = values.pop("owner", None)
    body = {"name": f"{tag} lead", "company": f"{tag} Co", "phone": "13800138000", "status": "pending", **values}
    if owner:
        body["owner_id"] = forms_site.user_id(owner)
    return forms_site.records.create("lead", body)


def _page(forms_site: Site, path: str, user: str = "boss") -> str:
    response = forms_site.get(path, user)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def _section(page: str, element_id: str) -> str:
    start = page.index(f'id="{element_id}"')
    end = page.find("</section>", start)
    return page[start:end if end != -1 else None]


def test_the_header_shows_the_name_key_fields_and_what_the_user_may_do(forms_site, tag):
    lead = _lead(forms_site, tag, owner="alice", title="Buyer")
    page = _page(forms_site, f"/o/lead/{lead['id']}", "alice")
    start = page.index('id="record-header"')
    header = page[start:page.index("</header>", start)]
    assert f'id="record-title">{tag} lead</h1>' in header
    assert "Mobile" in header and "13800138000" in header and "Pending" in header  # the form's first fields
    assert f'href="/o/lead/{lead["id"]}/edit"' in header
    assert 'id="delete-record"' not in header  # sales reps may not delete leads
    boss = _page(forms_site, f"/o/lead/{lead['id']}")
    assert 'id="delete-record"' in boss


def test_details_follow_the_form_layout_sections_and_hide_what_visible_when_hides(forms_site, tag):
    lead = _lead(forms_site, tag, description="line one\nline two")
    page = _page(forms_site, f"/o/lead/{lead['id']}")
    assert 'id="details-main"' in page and 'id="details-address"' in page
    assert '<details class="card mb-3 record-section" id="details-follow_up">' in page  # collapsed: folded
    assert "line one\nline two" in _section(page, "details-details")
    assert 'id="d-invalid_reason"' not in page  # visible only when the status is invalid
    assert 'id="d-score"' in page


def test_hidden_fields_are_not_on_the_record_page(forms_site, tag):
    account = forms_site.records.create("account", {"name": f"{tag} Account", "annual_revenue": "777000",
                                              "owner_id": forms_site.user_id("alice")})
    page = _page(forms_site, f"/o/account/{account['id']}", "alice")
    assert "Annual revenue" not in page and "777" not in page
    assert "777,000.00" in _page(forms_site, f"/o/account/{account['id']}")


def test_related_lists_show_children_with_a_link_to_the_full_filtered_list(forms_site, tag):
    account = forms_site.records.create("account", {"name": f"{tag} Account"})
    for n in range(7):
        forms_site.records.create("contact", {"name": f"{tag} contact {n}", "account": account["id"],
                                        "phone": "13800138000"})
    page = _page(forms_site, f"/o/account/{account['id']}")
    related = _section(page, "related-contacts")
    assert f'hx-get="/o/account/{account["id"]}/related/contacts"' in related  # loads when scrolled to
    fragment = _page(forms_site, f"/o/account/{account['id']}/related/contacts")
    assert fragment.count(f"{tag} contact") == 5 and ">7</span>" in fragment
    assert f'href="/o/contact?account={account["id"]}&amp;view=all"' in fragment
    assert f'href="/o/contact/new?account={account["id"]}"' in fragment
    assert forms_site.get(f"/o/account/{account['id']}/related/nothing").status_code == 404


def test_a_quotes_lines_are_listed_on_its_page(forms_site, tag):
    account = forms_site.records.create("account", {"name": f"{tag} Buyer"})
    quote = forms_site.records.create("quote", {"name": f"{tag} quote", "account": account["id"],
                                          "price_book": forms_site.ids["price_book"], "lines": [
        {"product": forms_site.ids["pump"], "unit": forms_site.ids["unit"], "quantity": "2", "unit_price": "100"}]})
    page = _page(forms_site, f"/o/quote/{quote['id']}")
    lines = _section(page, "related-lines")
    assert "Pump" in lines and "200.00" in lines and ">1</span>" in lines
    assert f'href="/o/quote_line?quote={quote["id"]}&amp;view=all"' in lines
    assert f'<a href="/o/account/{account["id"]}">{tag} Buyer</a>' in page  # lookups by name, linked


def test_the_activity_timeline_lists_the_records_activities(forms_site, tag):
    lead = _lead(forms_site, tag)
    forms_site.records.create("activity", {"subject": f"{tag} first call", "lead": lead["id"], "summary": "asked for prices",
                                     "start_at": "2026-01-05T09:00:00+08:00"})
    forms_site.records.create("activity", {"subject": f"{tag} visit", "lead": lead["id"], "summary": "met the buyer",
                                     "start_at": "2026-01-07T09:00:00+08:00"})
    timeline = _section(_page(forms_site, f"/o/lead/{lead['id']}"), "timeline")
    assert timeline.index(f"{tag} visit") < timeline.index(f"{tag} first call")  # newest first
    assert "asked for prices" in timeline and "Phone call" in timeline
    assert f'href="/o/activity/new?lead={lead["id"]}"' in timeline


def test_field_history_says_who_changed_what_from_what_to_what(forms_site, tag):
    lead = _lead(forms_site, tag, owner="alice")
    page = forms_site.get(f"/o/lead/{lead['id']}/edit", "alice").get_data(as_text=True)
    from .conftest_forms import form_inputs, replace

    saved = forms_site.post(f"/o/lead/{lead['id']}/edit", replace(form_inputs(page), company=f"{tag} Renamed"), "alice")
    assert saved.status_code == 303
    history = text_of(_section(_page(forms_site, f"/o/lead/{lead['id']}"), "history"))
    changed = history[:history.index("Created")]
    assert "Alice" in changed and "Changed" in changed
    assert re.search(rf"Company:\s+from\s+{tag} Co\s+→\s+to\s+{tag} Renamed", changed)


def test_plugin_panels_are_shown_with_their_own_templates(forms_site, tag):
    plugin = types.ModuleType("test_panels")

    @hookimpl
    def tessera_record_panels(object, record):
        if object.name == "lead":
            return [RecordPanel("score_detail", {"en": "Score detail", "zh-CN": "评分明细"}, "test_panel.html",
                                {"lead": record, "points": 42})]
        return None

    plugin.tessera_record_panels = tessera_record_panels
    plugins = forms_site.app.extensions["tessera.plugins"]
    loader = forms_site.app.jinja_env.loader
    forms_site.app.jinja_env.loader = ChoiceLoader([DictLoader({"test_panel.html": "<p class=score>{{ lead.name }}: {{ points }}</p>"}),
                                             loader])
    plugins.pm.register(plugin, name="test_panels")
    sys.modules["test_panels"] = plugin
    try:
        lead = _lead(forms_site, tag, name=f"{tag} {PAYLOAD}")
        panel = _section(_page(forms_site, f"/o/lead/{lead['id']}"), "panel-score_detail")
        assert "Score detail" in panel and ": 42</p>" in panel
        assert PAYLOAD not in panel  # the panel's template escapes too
        account = forms_site.records.create("account", {"name": f"{tag} Account"})
        assert 'id="panel-' not in _page(forms_site, f"/o/account/{account['id']}")
    finally:
        plugins.pm.unregister(name="test_panels")
        sys.modules.pop("test_panels", None)
        forms_site.app.jinja_env.loader = loader


def test_a_failing_panel_plugin_costs_its_panels_not_the_page(forms_site, tag):
    plugin = types.ModuleType("test_broken_panels")

    @hookimpl
    def tessera_record_panels(object):
        raise RuntimeError("the panel plugin is broken")

    plugin.tessera_record_panels = tessera_record_panels
    plugins = forms_site.app.extensions["tessera.plugins"]
    plugins.pm.register(plugin, name="test_broken_panels")
    try:
        lead = _lead(forms_site, tag)
        page = _page(forms_site, f"/o/lead/{lead['id']}")
        assert 'id="panel-' not in page and f"{tag} lead" in page
    finally:
        plugins.pm.unregister(name="test_broken_panels")


def test_a_plugin_action_runs_from_its_button_and_dialog(forms_site, tag):
    gadget = forms_site.records.create("gadget", {"name": f"{tag} gadget"})
    page = _page(forms_site, f"/o/gadget/{gadget['id']}")
    assert 'id="action-button-escalate"' in page and 'data-bs-target="#action-escalate"' in page
    dialog = page[page.index('id="action-escalate"'):]
    assert '<label class="form-label" for="action-escalate-reason">Reason' in dialog
    refused = forms_site.post(f"/o/gadget/{gadget['id']}/actions/escalate", {"reason": ""}, htmx=True)
    answer = refused.get_data(as_text=True)
    assert "This field is required." in answer[answer.index('id="action-escalate-fields"'):]
    assert "HX-Trigger" not in refused.headers
    ran = forms_site.post(f"/o/gadget/{gadget['id']}/actions/escalate", {"reason": f"{tag} {PAYLOAD}"}, htmx=True)
    answer = ran.get_data(as_text=True)
    assert ran.headers["HX-Trigger"] == "tessera:action-done"
    assert "Escalate: done." in answer and 'id="record-header" class="card mb-3 record-header" hx-swap-oob="true"' in answer
    assert PAYLOAD not in answer
    stored = forms_site.records.get("gadget", gadget["id"])
    assert stored["priority"] == "high" and stored["escalation_reason"] == f"{tag} {PAYLOAD}"
    assert forms_site.post(f"/o/gadget/{gadget['id']}/actions/escalate", {"reason": "x"}, csrf=False).status_code == 400
    plain = forms_site.post(f"/o/gadget/{gadget['id']}/actions/escalate", {"reason": "again"})
    assert plain.status_code == 200 and "Escalate: done." in plain.get_data(as_text=True)  # without htmx: the page
    assert forms_site.post(f"/o/gadget/{gadget['id']}/actions/nothing", {}).status_code == 404


def test_delete_and_restore_where_permitted(forms_site, tag):
    lead = _lead(forms_site, tag)
    assert forms_site.post(f"/o/lead/{lead['id']}/delete", {"version": lead["version"]}, "alice").status_code == 403
    deleted = forms_site.post(f"/o/lead/{lead['id']}/delete", {"version": lead["version"]})
    assert deleted.status_code == 303 and deleted.headers["Location"] == "/o/lead"
    page = _page(forms_site, f"/o/lead/{lead['id']}")
    assert "In the recycle bin" in page and 'id="restore-record"' in page and 'id="edit-record"' not in page
    restored = forms_site.post(f"/o/lead/{lead['id']}/restore", {}, htmx=True)
    assert restored.status_code == 204 and restored.headers["HX-Redirect"] == f"/o/lead/{lead['id']}"
    assert "In the recycle bin" not in _page(forms_site, f"/o/lead/{lead['id']}")


def test_a_refused_delete_says_why(forms_site, tag):
    account = forms_site.records.create("account", {"name": f"{tag} Account"})
    forms_site.records.create("contact", {"name": f"{tag} contact", "account": account["id"], "phone": "13800138000"})
    refused = forms_site.post(f"/o/account/{account['id']}/delete", {"version": account["version"]})
    assert refused.status_code == 409
    assert "other records still refer to it" in refused.get_data(as_text=True)


def test_unknown_and_unreachable_records_are_404_and_forbidden_ones_403(forms_site, tag):
    bobs = _lead(forms_site, tag, owner="bob")
    for path, user in [("/o/nothing/1", "boss"), (f"/o/lead/{bobs['id'] + 10**6}", "boss"),
                       (f"/o/lead/{bobs['id']}", "alice"), (f"/o/lead/{2**63}", "boss")]:
        response = forms_site.get(path, user)
        assert response.status_code == 404, path
        assert "Traceback" not in response.get_data(as_text=True)
    assert forms_site.get(f"/o/lead/{bobs['id']}", "kim").status_code in (403, 404)
    assert forms_site.get("/o/quote/1", "maria").status_code == 403


def test_the_record_page_answers_json_from_the_same_data(forms_site, tag):
    lead = _lead(forms_site, tag)
    body = forms_site.get(f"/o/lead/{lead['id']}", headers={"Accept": "application/json"}).get_json()
    assert body["data"]["name"] == f"{tag} lead" and "edit" in body["allowed"]


def test_the_record_page_speaks_the_users_language(forms_site, tag):
    lead = _lead(forms_site, tag, owner="mei")
    page = forms_site.client("mei", fresh=True).get(f"/o/lead/{lead['id']}").get_data(as_text=True)
    assert "联系人姓名" in page and "线索信息" in page and "待处理" in page
    assert ">编辑</a>" in page and "历史记录" in page


def test_script_payloads_in_every_text_field_of_a_lead_are_escaped_on_its_page(forms_site, store_script_payloads):
    lead, payloads = store_script_payloads(forms_site.records, SYSTEM, "EscPage")
    forms_site.records.create("activity", {"subject": payloads["name"], "summary": payloads["description"],
                                           "lead": lead["id"]})
    page = _page(forms_site, f"/o/lead/{lead['id']}")
    assert_escaped(page, payloads, "EscPage")
    for name in payloads:
        assert str(escape(payloads[name])) in page[page.index(f'id="d-{name}"'):], name
    assert str(escape(payloads["name"])) in _section(page, "timeline")


def test_history_names_the_records_a_lookup_pointed_at(forms_site, tag):
    first = forms_site.records.create("campaign", {"name": f"{tag} Spring fair"})
    second = forms_site.records.create("campaign", {"name": f"{tag} Autumn fair"})
    lead = _lead(forms_site, tag, campaign=first["id"])
    forms_site.records.update("lead", lead["id"], {"campaign": second["id"]}, version=lead["version"])
    history = _section(_page(forms_site, f"/o/lead/{lead['id']}"), "history")
    assert f'<a href="/o/campaign/{first["id"]}">{tag} Spring fair</a>' in history
    assert f'<a href="/o/campaign/{second["id"]}">{tag} Autumn fair</a>' in history


def test_a_record_named_by_a_lookup_or_a_picklist_is_titled_as_people_read_it(forms_site, tag):
    account = forms_site.records.create("account", {"name": f"{tag} Named"})
    book = forms_site.records.create("price_book", {"name": f"{tag} Book", "code": f"B{tag[:8]}",
                                                    "applies_to": "accounts"})
    link = forms_site.records.create("price_book_account", {"price_book": book["id"], "account": account["id"]})
    page = _page(forms_site, f"/o/price_book_account/{link['id']}")
    assert f'id="record-title">{tag} Named</h1>' in page
    edit = _page(forms_site, f"/o/price_book_account/{link['id']}/edit")
    assert f"{tag} Named</a></li>" in edit  # the breadcrumb names it too


def test_strangers_are_sent_to_sign_in(forms_site, tag):
    lead = _lead(forms_site, tag)
    stranger = forms_site.app.test_client()
    response = stranger.get(f"/o/lead/{lead['id']}")
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]
    fragment = stranger.get(f"/o/lead/{lead['id']}/edit", headers={"HX-Request": "true"})
    assert fragment.status_code == 401 and fragment.headers["HX-Redirect"].startswith("/login")
