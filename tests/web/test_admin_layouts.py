"""The layout editor of the builder: form layouts and list views, each with a live preview,
through the plan page and Apply, with optimistic concurrency; admins only."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from werkzeug.datastructures import MultiDict

from tessera.storage.overlay import DocumentChange

SITE_VISIT = {"label": {"en": "Site visit", "zh-CN": "现场拜访"}, "plural_label": {"en": "Site visits", "zh-CN": "现场拜访"},
              "fields": {"name": {"type": "text", "label": {"en": "Subject", "zh-CN": "主题"}, "required": True},
                         "visited_on": {"type": "date", "label": {"en": "Visited on", "zh-CN": "拜访日期"}},
                         "notes": {"type": "textarea", "label": {"en": "Notes", "zh-CN": "备注"}}}}


@pytest.fixture(scope="module")
def layouts_site(demo_site_factory):
    return demo_site_factory("admin-layouts")


@pytest.fixture
def login(layouts_site):
    from tests.web.conftest import DEMO_PASSWORD, csrf

    def make(username: str = "admin"):
        client = layouts_site.test_client()
        answer = client.post("/login", data={"org": "default", "username": username, "password": DEMO_PASSWORD,
                                             "csrf_token": csrf(client, "/login")})
        assert answer.status_code == 303
        client.get("/?lang=en")
        return client

    return make


class FormReader(HTMLParser):
    """The values a browser would post from the first form whose action is ``action``
    (buttons excluded), in document order."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.values = action, False, []
        self.select: str | None = None
        self.chosen: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("action") == self.action and not self.values:
            self.inside = True
        elif not self.inside:
            return
        elif tag == "input" and a.get("name") and (a.get("type") != "checkbox" or "checked" in a):
            self.values.append((a["name"], a.get("value") or ""))
        elif tag == "select":
            self.select, self.chosen = a.get("name"), []
        elif tag == "option" and self.select and ("selected" in a or not self.chosen):
            self.chosen = [(self.select, a.get("value") or "")]  # the selected option, else the first

    def handle_endtag(self, tag):
        if tag == "select" and self.select:
            self.values.extend(self.chosen)
            self.select = None
        elif tag == "form" and self.inside:
            self.inside = False


def form_values(html: str, action: str) -> list[tuple[str, str]]:
    reader = FormReader(action)
    reader.feed(html)
    assert reader.values, f"no form posting to {action}"
    return reader.values


def with_values(values: list[tuple[str, str]], **changes: str) -> list[tuple[str, str]]:
    out = [(k, changes.pop(k) if k in changes else v) for k, v in values]
    return out + list(changes.items())


def post(client, url: str, values: list[tuple[str, str]], op: str, htmx: bool = False):
    from tests.web.conftest import HTMX

    data = [*values, ("op", op)] if op else list(values)
    token = next(v for k, v in values if k == "csrf_token")
    return client.post(url, data=MultiDict(data), headers={**(HTMX if htmx else {}), "X-CSRFToken": token})


def apply_plan(client, page: str):
    token = re.search(r'name="change" value="([^"]+)"', page).group(1)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/admin/changes/apply", data={"change": token, "csrf_token": csrf})


def order(html: str, *names: str) -> list[str]:
    """``names`` in the order their form widgets appear."""
    found = {name: html.find(f'id="w-{name}"') for name in names}
    assert all(i >= 0 for i in found.values()), found
    return sorted(names, key=found.get)


def history_size(site) -> int:
    return len(site.extensions["tessera.orgs"].metadata("default").history(limit=None))


# ------------------------------------------------------------------------------ form layouts

def test_the_layouts_page_lists_each_object_with_its_form_and_list_views(login):
    page = login().get("/admin/layouts")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'href="/admin/layouts/lead/form"' in html and 'href="/admin/layouts/lead/views/hot"' in html
    assert 'href="/admin/layouts/lead/new-view"' in html and "Hot leads" in html


def test_a_rearranged_package_form_is_applied_and_a_sales_rep_sees_it_without_a_restart(layouts_site, login):
    admin = login()
    url = "/admin/layouts/lead/form"
    html = admin.get(url).get_data(as_text=True)
    assert "Not shown" in html and 'id="layout-preview-form"' in html
    values = form_values(html, url)
    for op in ("up:company", "remove:wechat", "down:department"):
        answer = post(admin, url, values, op, htmx=True)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        fragment = answer.get_data(as_text=True)
        assert "<html" not in fragment and 'id="layout-editor"' in fragment
        values = form_values(fragment, url)
    assert dict(values)["s0-c0"].startswith("company,name,title,industry,department")
    assert "WeChat" in fragment.split('id="le-unplaced"')[1][:400]  # listed as not shown

    plan = post(admin, url, values, "save")
    plan_html = plan.get_data(as_text=True)
    assert plan.status_code == 200 and "Form layout of Lead" in plan_html and 'id="apply-change"' in plan_html
    assert apply_plan(admin, plan_html).status_code == 303

    form = login("zhang.wei").get("/o/lead/new").get_data(as_text=True)
    assert order(form, "name", "company", "industry", "department") == ["company", "name", "industry", "department"]
    assert 'id="w-wechat"' not in form
    stored = layouts_site.extensions["tessera.orgs"].metadata("default").document("object", "lead")
    assert stored.data["layouts"]["form"]["sections"][0]["columns"][0][:2] == ["company", "name"]

    page = admin.get(url).get_data(as_text=True)  # the editor now starts from the applied layout
    assert "Restore the package" in page
    restored = post(admin, url, form_values(page, url), "reset")
    assert restored.status_code == 200
    assert "Restore the package&#39;s form layout of Lead" in restored.get_data(as_text=True)
    assert apply_plan(admin, restored.get_data(as_text=True)).status_code == 303
    form = login("zhang.wei").get("/o/lead/new").get_data(as_text=True)
    assert order(form, "name", "company") == ["name", "company"] and 'id="w-wechat"' in form


def test_sections_and_columns_are_added_moved_and_removed_without_javascript(login):
    admin = login()
    url = "/admin/layouts/account/form"
    values = form_values(admin.get(url).get_data(as_text=True), url)
    sections = int(dict(values)["sections"])
    page = post(admin, url, values, "section_add")
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)  # a whole page without htmx
    values = form_values(page.get_data(as_text=True), url)
    assert dict(values)["sections"] == str(sections + 1)
    new = sections  # its index
    values = form_values(post(admin, url, values, f"column_add:{new}").get_data(as_text=True), url)
    assert f"s{new}-c1" in dict(values)
    first = dict(values)["s0-c0"].split(",")[0]
    values = form_values(post(admin, url, values, f"remove:{first}").get_data(as_text=True), url)
    values = with_values(values, add_field=first, add_to=f"{new}-1")
    values = form_values(post(admin, url, values, "add").get_data(as_text=True), url)
    assert dict(values)[f"s{new}-c1"] == first
    values = form_values(post(admin, url, values, f"section_up:{new}").get_data(as_text=True), url)
    assert dict(values)[f"s{new - 1}-c1"] == first and dict(values)[f"s{new - 1}-name"].startswith("section_")
    values = form_values(post(admin, url, values, f"column_remove:{new - 1}-1").get_data(as_text=True), url)
    assert dict(values)[f"s{new - 1}-c0"] == first and f"s{new - 1}-c1" not in dict(values)
    values = form_values(post(admin, url, values, f"section_remove:{new - 1}").get_data(as_text=True), url)
    placed = [name for k, v in values if re.match(r"s\d+-c\d+$", k) for name in v.split(",")]
    assert dict(values)["sections"] == str(sections) and first not in placed
    page = post(admin, url, values, "add").get_data(as_text=True)
    assert "Choose a field to add." in page


def test_the_preview_shows_the_unsaved_layout_and_stores_nothing(layouts_site, login):
    admin = login()
    url = "/admin/layouts/contact/form"
    html = admin.get(url).get_data(as_text=True)
    values = form_values(html, url)
    first, second = dict(values)["s0-c0"].split(",")[:2]
    swapped = with_values(values, **{"s0-c0": ",".join([second, first, *dict(values)["s0-c0"].split(",")[2:]]),
                                     "s0-en": "Who they are"})
    before = history_size(layouts_site)
    preview = post(admin, url + "/preview", swapped, "", htmx=True)
    fragment = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "<html" not in fragment
    assert order(fragment, first, second) == [second, first] and "Who they are" in fragment
    assert history_size(layouts_site) == before
    assert order(login("zhang.wei").get("/o/contact/new").get_data(as_text=True), first, second) == [first, second]

    blank = post(admin, url + "/preview", with_values(values, **{"s0-zh": ""}), "", htmx=True).get_data(as_text=True)
    assert re.search(r'id="err-s0-zh"[^>]*hx-swap-oob="true">Enter the label in Simplified Chinese\.', blank)
    assert 'id="preview-problems"' in blank


def test_a_bad_section_name_is_shown_beside_its_input_and_nothing_is_applied(layouts_site, login):
    admin = login()
    url = "/admin/layouts/opportunity/form"
    values = form_values(admin.get(url).get_data(as_text=True), url)
    before = history_size(layouts_site)
    answer = post(admin, url, with_values(values, **{"s0-name": "Main Info"}), "save")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and 'id="apply-change"' not in html
    assert re.search(r'id="err-s0-name"[^>]*>Use lowercase letters', html)
    assert history_size(layouts_site) == before


def test_two_admins_editing_one_layout_from_the_same_version_do_not_lose_a_change(layouts_site, login):
    first, second = login(), login()
    url = "/admin/layouts/quote/form"
    mine = form_values(first.get(url).get_data(as_text=True), url)
    theirs = form_values(second.get(url).get_data(as_text=True), url)
    fields = dict(mine)["s0-c0"].split(",")
    edited = form_values(post(second, url, theirs, f"remove:{fields[1]}").get_data(as_text=True), url)
    early_plan = post(second, url, edited, "save").get_data(as_text=True)  # planned, not yet applied

    mine = form_values(post(first, url, mine, f"remove:{fields[0]}").get_data(as_text=True), url)
    assert apply_plan(first, post(first, url, mine, "save").get_data(as_text=True)).status_code == 303

    late = post(second, url, with_values(theirs, **{"s0-c0": ",".join(fields[2:])}), "save")
    assert late.status_code == 409 and "was changed by someone else" in late.get_data(as_text=True)
    stale_apply = apply_plan(second, early_plan)
    assert stale_apply.status_code == 409
    layout = layouts_site.extensions["tessera.orgs"].get("default").registry.objects["quote"].form
    assert fields[0] not in layout.sections[0].fields and fields[1] in layout.sections[0].fields


def test_saving_a_package_layout_unchanged_writes_nothing(layouts_site, login):
    admin = login()
    url = "/admin/layouts/campaign/form"
    plan = post(admin, url, form_values(admin.get(url).get_data(as_text=True), url), "save").get_data(as_text=True)
    assert "Nothing would change" in plan and 'id="apply-change"' not in plan
    assert layouts_site.extensions["tessera.orgs"].metadata("default").document("object", "campaign") is None


def test_a_form_left_open_while_another_admin_removed_a_field_gets_the_conflict_page(layouts_site, login):
    changes = layouts_site.extensions["tessera.orgs"].metadata("default")
    memo = {**SITE_VISIT, "label": {"en": "Memo", "zh-CN": "备忘"}, "plural_label": {"en": "Memos", "zh-CN": "备忘"}}
    changes.apply([DocumentChange.upsert("object", "memo", memo)], expected_versions={("object", "memo"): 0},
                  actor="user:admin", summary="Memos")
    admin = login()
    url = "/admin/layouts/memo/form"
    values = form_values(admin.get(url).get_data(as_text=True), url)
    fields = {k: v for k, v in memo["fields"].items() if k != "notes"}
    changes.apply([DocumentChange.upsert("object", "memo", {**memo, "fields": fields})],
                  expected_versions={("object", "memo"): int(dict(values)["version"])}, actor="user:other",
                  summary="No notes on memos")
    answer = post(admin, url, values, "up:visited_on")
    assert answer.status_code == 409 and "was changed by someone else" in answer.get_data(as_text=True)


# ------------------------------------------------------------------------------ list views

def test_a_new_list_view_with_columns_sort_and_filter_is_what_users_open(layouts_site, login):
    admin = login()
    url = "/admin/layouts/lead/new-view"
    values = form_values(admin.get(url).get_data(as_text=True), url)
    assert dict(values)["column"] == "name"
    values = with_values(values, name="warm_leads", label_en="Warm leads", label_zh="温线索",
                         filter="status__in=pending,in_progress&score__gte=50", default="1")
    for path in ("company", "score", "lead_pool.name"):
        answer = post(admin, url, with_values(values, add_path=path), "col_add", htmx=True)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        values = form_values(answer.get_data(as_text=True), url)
    values = [(k, v) for k, v in values if k not in ("sort_path", "sort_dir")] + [("sort_path", "score"),
                                                                                  ("sort_dir", "desc")]
    fragment = post(admin, url, values, "refresh", htmx=True).get_data(as_text=True)
    assert 'hx-trigger="load"' in fragment  # the editor comes back at once; its preview asks for itself
    preview = post(admin, "/admin/layouts/lead/view-preview", form_values(fragment, url), "", htmx=True)
    assert 'id="view-preview-table"' in preview.get_data(as_text=True)
    assert 'data-column="lead_pool.name"' in preview.get_data(as_text=True)

    plan = post(admin, url, form_values(fragment, url), "save")
    assert plan.status_code == 200, plan.get_data(as_text=True)
    assert apply_plan(admin, plan.get_data(as_text=True)).status_code == 303

    user = login("zhang.wei")
    listed = user.get("/o/lead?view=warm_leads")
    html = listed.get_data(as_text=True)
    assert listed.status_code == 200 and "Warm leads" in html
    assert [c for c in re.findall(r'<th scope="col" data-column="([^"]+)"', html)] == [
        "name", "company", "score", "lead_pool.name"]
    scores = [int(s) for s in re.findall(r'<td>(\d+)</td>', html)]
    assert scores == sorted(scores, reverse=True) and all(s >= 50 for s in scores)
    assert "Warm leads" in user.get("/o/lead").get_data(as_text=True)  # the default view now
    stored = layouts_site.extensions["tessera.orgs"].metadata("default").document("object", "lead").data
    assert stored["layouts"]["list_views"]["warm_leads"]["filter"] == {"status__in": ["pending", "in_progress"],
                                                                      "score__gte": 50}
    assert "default" not in stored["layouts"]["list_views"]["my_open"]  # no longer the default

    edit = admin.get("/admin/layouts/lead/views/warm_leads").get_data(as_text=True)
    assert 'value="status__in=pending,in_progress&amp;score__gte=50"' in edit
    removed = admin.post("/admin/layouts/lead/views/warm_leads/remove",
                         data=MultiDict([(k, v) for k, v in form_values(edit, "/admin/layouts/lead/views/warm_leads")
                                         if k in ("csrf_token", "version")]))
    assert removed.status_code == 200 and "Remove the list view Warm leads of Lead" in removed.get_data(as_text=True)
    assert apply_plan(admin, removed.get_data(as_text=True)).status_code == 303
    assert user.get("/o/lead?view=warm_leads").status_code == 400


def test_a_bad_filter_is_shown_beside_the_input_and_nothing_is_applied(layouts_site, login):
    admin = login()
    url = "/admin/layouts/lead/views/hot"
    values = form_values(admin.get(url).get_data(as_text=True), url)
    assert dict(values)["filter"] == "score__gte=80&status__in=unassigned,pending,in_progress"
    before = history_size(layouts_site)
    answer = post(admin, url, with_values(values, filter="score__gte=lots&stauts=new"), "save")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and 'id="apply-change"' not in html
    slot = re.search(r'id="err-filter"[^>]*>([^<]*)<', html).group(1)
    assert "score__gte: expected a number" in slot and "stauts" in slot
    assert history_size(layouts_site) == before

    preview = post(admin, "/admin/layouts/lead/view-preview", with_values(values, filter="owner_id=$today"), "",
                   htmx=True).get_data(as_text=True)
    assert 'id="err-filter" class="invalid-feedback d-block" hx-swap-oob="true">owner_id' in preview


def test_the_custom_site_visit_object_gets_a_layout_and_users_create_records_by_form_and_api(layouts_site, login):
    changes = layouts_site.extensions["tessera.orgs"].metadata("default")
    changes.apply([DocumentChange.upsert("object", "site_visit", SITE_VISIT)],
                  expected_versions={("object", "site_visit"): 0}, actor="user:admin", summary="Site visits")
    admin = login()
    url = "/admin/layouts/site_visit/form"
    values = form_values(admin.get(url).get_data(as_text=True), url)
    assert dict(values)["s0-c0"] == "name,visited_on,notes"
    values = form_values(post(admin, url, values, "column_add:0").get_data(as_text=True), url)
    values = form_values(post(admin, url, values, "right:visited_on").get_data(as_text=True), url)
    values = with_values(values, **{"s0-en": "Visit", "s0-zh": "拜访"})
    plan = post(admin, url, values, "save")
    assert plan.status_code == 200 and apply_plan(admin, plan.get_data(as_text=True)).status_code == 303

    form = admin.get("/o/site_visit/new").get_data(as_text=True)
    assert "Visit" in form and order(form, "name", "notes", "visited_on") == ["name", "notes", "visited_on"]
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    saved = admin.post("/o/site_visit/new", data={"csrf_token": token, "_original": "{}", "name": "Factory tour",
                                                  "visited_on": "2026-03-02"})
    assert saved.status_code == 303, saved.get_data(as_text=True)
    created = admin.post("/api/v1/site_visit", json={"name": "Second visit"}, headers={"X-CSRFToken": token})
    assert created.status_code == 201, created.get_data(as_text=True)
    assert "Factory tour" in admin.get("/o/site_visit").get_data(as_text=True)


# ------------------------------------------------------------------------------ refusals

def test_a_tampered_hidden_input_gets_a_400_page(layouts_site, login):
    admin = login()
    url = "/admin/layouts/lead/form"
    values = form_values(admin.get(url).get_data(as_text=True), url)
    before = history_size(layouts_site)
    for tampered, op in ((with_values(values, **{"s0-c0": "name,password"}), "save"),
                         (with_values(values, **{"s0-c0": "name,name"}), "refresh"),
                         (with_values(values, version="soon"), "save"),
                         (values, "up:not_a_field"),
                         (values, "section_up:99")):
        answer = post(admin, url, tampered, op)
        assert answer.status_code == 400 and "cannot be read" in answer.get_data(as_text=True)
    view = "/admin/layouts/lead/views/hot"
    values = form_values(admin.get(view).get_data(as_text=True), view)
    for tampered in (with_values(values, kanban_field="company"), with_values(values, sort_dir="sideways"),
                     with_values(values, column="name;drop")):
        assert post(admin, view, tampered, "save").status_code == 400
    assert post(admin, url, values, "save", htmx=True).status_code == 400  # a view's form sent to the layout
    assert admin.get("/admin/layouts/no_such_object/form").status_code == 404
    assert admin.get("/admin/layouts/lead/views/no_such_view").status_code == 404
    assert history_size(layouts_site) == before


def test_only_admins_reach_the_layout_editor(login, csrf):
    rep = login("zhang.wei")
    assert rep.get("/admin/layouts").status_code == 403
    assert rep.get("/admin/layouts/lead/form").status_code == 403
    assert rep.post("/admin/layouts/lead/form", data={"csrf_token": csrf(rep), "op": "save"}).status_code == 403
    assert rep.post("/admin/layouts/lead/view-preview", data={"csrf_token": csrf(rep)}).status_code == 403
