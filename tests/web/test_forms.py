"""Create and edit forms: a widget for every field type, saving with errors shown next to their
fields, conditions re-evaluated on the server, stale edits, field security, lookups, line grids."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from markupsafe import escape

from tessera.records.service import SYSTEM

from .conftest_forms import (  # noqa: F401 - fixtures and helpers
    assert_escaped,
    Site,
    form_inputs,
    replace,
    forms_site,
    tag,
    tag_of,
    text_of,
    wrapper_of,
)



def _new_lead(forms_site: Site, tag: str, **values):
    owner = values.pop("owner", None)
    body = {"name": f"{tag} lead", "company": f"{tag} Co", "phone": "13800138000", "status": "pending", **values}
    if owner:
        body["owner_id"] = forms_site.user_id(owner)
    return forms_site.records.create("lead", body)


def _set_columns(forms_site: Site, object_name: str, ident: int, **values) -> None:
    """Write columns behind the record service's back (values it would no longer accept)."""
    table = forms_site.records.schema.table(object_name)
    with forms_site.records.db.begin() as conn:
        conn.execute(table.update().where(table.c.id == ident).values(**values))


def _post_form(forms_site: Site, path: str, user: str = "boss", htmx: bool = False, **changes):
    page = forms_site.get(path, user).get_data(as_text=True)
    return forms_site.post(path, replace(form_inputs(page), **changes), user, htmx=htmx)


# ------------------------------------------------------------------------------ widgets

def test_every_field_type_gets_its_widget(forms_site):
    page = forms_site.get("/o/specimen/new").get_data(as_text=True)
    assert 'type="text"' in tag_of(page, "title")
    assert tag_of(page, "notes").startswith("<textarea")
    assert 'type="email"' in tag_of(page, "email") and 'type="tel"' in tag_of(page, "phone")
    assert 'type="url"' in tag_of(page, "website")
    assert 'inputmode="numeric"' in tag_of(page, "count")
    for name in ("ratio", "share", "price"):  # typed as text, so nothing typed is lost
        assert 'inputmode="decimal"' in tag_of(page, name)
    assert '<span class="input-group-text">%</span>' in wrapper_of(page, "share")
    assert ">CNY</span>" in wrapper_of(page, "price")  # money shows its currency code
    assert 'type="date"' in tag_of(page, "due_on")
    assert 'type="datetime-local"' in tag_of(page, "starts_at")
    assert re.search(r'<input type="checkbox" role="switch"[^>]*id="f-active" name="active" value="true"', page)
    assert tag_of(page, "stage").startswith("<select")
    assert re.search(r'<input type="checkbox"[^>]*name="tags" value="red"', page)
    assert 'role="combobox"' in wrapper_of(page, "account") and 'aria-controls="f-account-listbox"' in page
    assert "font-monospace" in tag_of(page, "settings")
    assert tag_of(page, "doubled").startswith("<output")  # formulas and auto numbers: shown, not edited
    assert tag_of(page, "code").startswith("<output")
    assert 'name="doubled"' not in page and 'name="code"' not in page
    for name in ("title", "notes", "count", "price", "due_on", "stage", "settings"):
        assert f'<label class="form-label" for="f-{name}">' in page  # every input has its label
    assert 'id="f-notes-help"' in page and 'aria-describedby="f-notes-help"' in tag_of(page, "notes")


def test_inactive_options_are_offered_only_where_already_chosen(forms_site, tag):
    record = forms_site.records.create("specimen", {"title": tag, "stage": "fresh", "reason": "old", "tags": ["red"]})
    _set_columns(forms_site, "specimen", record["id"], stage="stale", tags=["grey", "red"])  # options retired since
    fresh = forms_site.get("/o/specimen/new").get_data(as_text=True)
    assert 'value="stale"' not in fresh and 'value="grey"' not in fresh
    edit = forms_site.get(f"/o/specimen/{record['id']}/edit").get_data(as_text=True)
    assert '<option value="stale" selected>' in edit
    assert re.search(r'name="tags" value="grey" checked', edit)


def test_a_form_post_is_converted_per_type_by_the_record_service(forms_site, tag):
    account = forms_site.records.create("account", {"name": f"{tag} Account"})
    response = _post_form(
        forms_site, "/o/specimen/new", title=tag, notes="first line\nsecond line", email="li@example.cn",
        phone="+86 138 0013 8000", website="https://example.cn", count="12", ratio="1.2345", share="15",
        price="1,250.50", due_on="2026-03-01", starts_at="2026-03-01T09:30", active=["false", "true"],
        stage="fresh", reason="because", tags=["", "red", "green"], account=str(account["id"]),
        settings='{"size": "L"}')
    assert response.status_code == 303, response.get_data(as_text=True)
    ident = int(response.headers["Location"].rsplit("/", 1)[1])
    saved = forms_site.records.get("specimen", ident)
    assert saved["notes"] == "first line\nsecond line" and saved["count"] == 12
    assert saved["ratio"] == Decimal("1.235")  # rounded half-up to the field's scale by the engine
    assert saved["price"] == Decimal("1250.50") and saved["share"] == Decimal("15")
    assert saved["due_on"] == dt.date(2026, 3, 1)
    assert saved["starts_at"] == dt.datetime(2026, 3, 1, 1, 30, tzinfo=dt.UTC)  # typed in Asia/Shanghai
    assert saved["active"] is True and saved["tags"] == ["red", "green"]
    assert saved["account"] == account["id"] and saved["settings"] == {"size": "L"}
    assert saved["doubled"] == Decimal("2.470") and saved["code"].startswith("S-")
    assert saved["currency_code"] == "CNY"  # an untouched default is the engine's
    # clearing text and unticking a box on edit: blank is stored as null, the box as false
    again = _post_form(forms_site, f"/o/specimen/{ident}/edit", website="", active="false", tags="")
    assert again.status_code == 303, again.get_data(as_text=True)
    saved = forms_site.records.get("specimen", ident)
    assert saved["website"] is None and saved["active"] is False and saved["tags"] is None
    assert saved["starts_at"] == dt.datetime(2026, 3, 1, 1, 30, tzinfo=dt.UTC)  # untouched: unchanged


def test_json_that_does_not_parse_is_shown_next_to_its_field(forms_site, tag):
    response = _post_form(forms_site, "/o/specimen/new", title=tag, settings="{size: L")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter valid JSON" in wrapper_of(page, "settings")
    assert "{size: L" in wrapper_of(page, "settings")
    assert forms_site.records.count("specimen", filter={"title": tag}).value == 0


# ------------------------------------------------------------------------------ saving

def test_a_lead_with_a_validation_error_is_shown_again_then_saved_once_fixed(forms_site, tag):
    response = _post_form(forms_site, "/o/lead/new", "alice", name=f"{tag} Li", company=f"{tag} & Sons",
                          phone="12345", status="pending", description="needs pumps\nand valves")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    phone = wrapper_of(page, "phone")
    assert 'id="f-phone-error"' in phone and "11-digit Chinese mobile number" in phone
    assert 'aria-invalid="true"' in tag_of(page, "phone") and "f-phone-error" in tag_of(page, "phone")
    assert 'value="12345"' in tag_of(page, "phone")
    assert f'value="{tag} &amp; Sons"' in tag_of(page, "company")  # what was typed is kept
    assert "needs pumps\nand valves</textarea>" in page
    assert 'id="form-errors"' in page
    fixed = forms_site.post("/o/lead/new", replace(form_inputs(page), phone="13800138000"), "alice")
    assert fixed.status_code == 303, fixed.get_data(as_text=True)
    saved = forms_site.records.get("lead", int(fixed.headers["Location"].rsplit("/", 1)[1]))
    assert saved["company"] == f"{tag} & Sons" and saved["description"] == "needs pumps\nand valves"
    assert saved["owner_id"] == forms_site.user_id("alice") and saved["status"] == "pending"


def test_record_level_problems_and_problems_of_fields_not_on_the_form_are_shown_at_the_top(forms_site, tag):
    response = _post_form(forms_site, "/o/lead/new", name=f"{tag} Li", phone="", telephone="", email="",
                          status="pending")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter a mobile number, an office phone or an email address." in wrapper_of(page, "phone")


def test_an_htmx_save_answers_a_redirect_or_the_form_alone(forms_site, tag):
    bad = _post_form(forms_site, "/o/lead/new", htmx=True, name="", status="pending")
    assert bad.status_code == 422 and bad.get_data(as_text=True).lstrip().startswith("<form")
    good = _post_form(forms_site, "/o/lead/new", htmx=True, name=f"{tag} Li", status="pending", phone="13800138000")
    assert good.status_code == 204 and good.headers["HX-Redirect"].startswith("/o/lead/")


def test_a_stale_edit_shows_the_conflict_and_saving_again_overwrites_only_the_users_fields(forms_site, tag):
    lead = _new_lead(forms_site, tag)
    page = forms_site.get(f"/o/lead/{lead['id']}/edit").get_data(as_text=True)
    forms_site.records.update("lead", lead["id"], {"company": f"{tag} Their Co", "title": "CTO"}, version=lead["version"])
    mine = replace(form_inputs(page), phone="13900139000", title="CEO")
    response = forms_site.post(f"/o/lead/{lead['id']}/edit", mine)
    conflict = response.get_data(as_text=True)
    assert response.status_code == 409
    assert 'id="form-conflict"' in conflict
    table = conflict[conflict.index('id="form-conflict"'):conflict.index("</table>")]
    assert f"{tag} Their Co" in table and "not changed by you" in table  # their change, which I left alone
    assert "CTO" in table and "CEO" in table  # both changed the job title
    assert 'value="13900139000"' in tag_of(conflict, "phone")  # my typing is kept
    assert forms_site.records.get("lead", lead["id"])["phone"] == "13800138000"  # nothing was saved
    again = forms_site.post(f"/o/lead/{lead['id']}/edit", form_inputs(conflict))
    assert again.status_code == 303, again.get_data(as_text=True)
    saved = forms_site.records.get("lead", lead["id"])
    assert saved["phone"] == "13900139000" and saved["title"] == "CEO"
    assert saved["company"] == f"{tag} Their Co"  # their change stays


# ------------------------------------------------------------------------------ conditions

def test_visible_when_and_required_when_are_re_evaluated_on_the_server(forms_site):
    page = forms_site.get("/o/specimen/new").get_data(as_text=True)
    assert 'id="w-reason" class="form-field" hidden' in page
    inputs = form_inputs(page)
    shown = forms_site.post("/o/specimen/new/refresh", replace(inputs, stage="fresh"), htmx=True)
    fragment = shown.get_data(as_text=True)
    assert shown.status_code == 200
    reason = wrapper_of(fragment, "reason")
    assert 'hx-swap-oob="true"' in reason and 'aria-required="true"' in reason and 'name="reason"' in reason
    assert 'id="w-title"' not in fragment and 'id="w-stage"' not in fragment  # only what changed
    view = re.search(r'name="_view" id="form-view" value="([^"]*)" hx-swap-oob', fragment).group(1)
    hidden = forms_site.post("/o/specimen/new/refresh", replace(inputs, stage="", _view=view.replace("&#34;", '"')),
                       htmx=True).get_data(as_text=True)
    assert re.search(r'id="w-reason" class="form-field" hidden hx-swap-oob="true"', hidden)


def test_an_unchanged_form_refreshes_nothing(forms_site):
    page = forms_site.get("/o/specimen/new").get_data(as_text=True)
    fragment = forms_site.post("/o/specimen/new/refresh", form_inputs(page), htmx=True).get_data(as_text=True)
    assert 'id="w-' not in fragment and 'id="form-view"' in fragment


def test_a_leads_invalid_reason_appears_and_is_required_once_the_status_is_invalid(forms_site, tag):
    lead = _new_lead(forms_site, tag)
    page = forms_site.get(f"/o/lead/{lead['id']}/edit").get_data(as_text=True)
    fragment = forms_site.post(f"/o/lead/{lead['id']}/edit/refresh", replace(form_inputs(page), status="invalid"),
                         htmx=True).get_data(as_text=True)
    assert 'aria-required="true"' in tag_of(fragment, "invalid_reason")
    refused = forms_site.post(f"/o/lead/{lead['id']}/edit", replace(form_inputs(page), status="invalid"))
    assert refused.status_code == 422  # the same rule, enforced when saving
    assert "This field is required." in text_of(refused.get_data(as_text=True))


def test_computed_values_follow_the_input(forms_site, tag):
    page = forms_site.get("/o/specimen/new").get_data(as_text=True)
    fragment = forms_site.post("/o/specimen/new/refresh", replace(form_inputs(page), ratio="2.5", currency_code="USD"),
                         htmx=True).get_data(as_text=True)
    assert "5.000" in wrapper_of(fragment, "doubled")  # ratio * 2, by the formula the engine stores
    assert ">USD</span>" in wrapper_of(fragment, "price")  # the money field follows its currency


# ------------------------------------------------------------------------------ field security

def test_hidden_fields_are_never_rendered_and_read_only_ones_are_disabled(forms_site, tag):
    account = forms_site.records.create("account", {"name": f"{tag} Account", "annual_revenue": "1000000",
                                              "owner_id": forms_site.user_id("alice")})
    rep = forms_site.get(f"/o/account/{account['id']}/edit", "alice").get_data(as_text=True)
    assert "annual_revenue" not in rep and "Annual revenue" not in rep and "1000000" not in rep
    manager = forms_site.get(f"/o/account/{account['id']}/edit", "manny").get_data(as_text=True)
    revenue = tag_of(manager, "annual_revenue")
    assert "disabled" in revenue and 'name="annual_revenue"' not in manager
    record = forms_site.records.create("specimen", {"title": tag, "notes": "secret", "email": "a@b.cn"})
    keeper = forms_site.get(f"/o/specimen/{record['id']}/edit", "kim").get_data(as_text=True)
    assert "secret" not in keeper and 'name="notes"' not in keeper
    assert "disabled" in tag_of(keeper, "email") and 'name="email"' not in keeper
    sneaky = forms_site.post(f"/o/specimen/{record['id']}/edit", replace(form_inputs(keeper), notes="changed"), "kim")
    assert sneaky.status_code == 422 and forms_site.records.get("specimen", record["id"])["notes"] == "secret"


def test_a_user_without_the_permission_gets_403_and_others_records_are_404(forms_site, tag):
    bobs = _new_lead(forms_site, tag, owner="bob")
    assert forms_site.get(f"/o/lead/{bobs['id']}/edit", "alice").status_code == 404
    assert forms_site.get("/o/quote/new", "maria").status_code == 403
    assert forms_site.get("/o/nothing/new").status_code == 404
    assert forms_site.get(f"/o/lead/{bobs['id'] + 10**6}/edit").status_code == 404


# ------------------------------------------------------------------------------ lookups

def test_lookup_type_ahead_offers_only_records_the_user_can_see(forms_site, tag):
    forms_site.records.create("account", {"name": f"{tag} Alpha", "owner_id": forms_site.user_id("alice")})
    forms_site.records.create("account", {"name": f"{tag} Beta", "owner_id": forms_site.user_id("bob")})
    path = f"/o/quote/lookup/account?for=f-account&account__search={tag}"
    alice = forms_site.get(path, "alice").get_data(as_text=True)
    assert f"{tag} Alpha" in alice and f"{tag} Beta" not in alice
    assert 'role="option"' in alice and 'id="f-account-option-' in alice
    boss = forms_site.get(path).get_data(as_text=True)
    assert f"{tag} Alpha" in boss and f"{tag} Beta" in boss


def test_lookup_type_ahead_respects_the_lookup_filter_and_permissions(forms_site):
    products = forms_site.get("/o/quote_line/lookup/product?for=f-lines-n1-product&q=Pump").get_data(as_text=True)
    assert 'data-label="Pump"' in products and "Pump retired" not in products  # lookup_filter: on sale only
    denied = forms_site.get("/o/quote/lookup/price_book?for=f-price_book&q=", "maria").get_data(as_text=True)
    assert "You may not see any" in denied
    assert forms_site.get("/o/quote/lookup/name?for=f-x").status_code == 404  # not a lookup
    assert forms_site.get("/o/quote/lookup/account?for=<script>").status_code == 400


# ------------------------------------------------------------------------------ line grids

def _quote(forms_site: Site, tag: str) -> dict:
    account = forms_site.records.create("account", {"name": f"{tag} Buyer"})
    return forms_site.records.create("quote", {"name": f"{tag} quote", "account": account["id"],
                                         "price_book": forms_site.ids["price_book"], "lines": [
        {"product": forms_site.ids["pump"], "unit": forms_site.ids["unit"], "quantity": "2", "unit_price": "100"}]})


def test_a_quotes_line_grid_recomputes_totals_on_the_server(forms_site, tag):
    quote = _quote(forms_site, tag)
    line = forms_site.records.query("quote_line", filter={"quote": quote["id"]}).rows[0]
    page = forms_site.get(f"/o/quote/{quote['id']}/edit").get_data(as_text=True)
    assert f'name="lines-e{line["id"]}-quantity"' in page and "Add a line" in page
    inputs = form_inputs(page)
    fragment = forms_site.post(f"/o/quote/{quote['id']}/edit/refresh",
                         replace(inputs, **{f"lines-e{line['id']}-quantity": "3"}), htmx=True).get_data(as_text=True)
    assert "300.00" in wrapper_of(fragment, f"lines-e{line['id']}-net_amount")
    assert "300.00" in wrapper_of(fragment, "subtotal")
    assert "339.00" in wrapper_of(fragment, "grand_total")  # 13 % VAT from the product's default rate
    assert "<template>" in fragment  # grid cells travel in templates (table elements)
    row = forms_site.get("/o/quote/lines/lines").get_data(as_text=True)
    key = re.search(r'id="row-lines-(n[0-9a-f]+)"', row).group(1)
    added = replace(inputs + form_inputs(f'<form id="record-form">{row}</form>'), **{
        f"lines-e{line['id']}-quantity": "3", f"lines-{key}-product": str(forms_site.ids["valve"]),
        f"lines-{key}-unit": str(forms_site.ids["unit"]), f"lines-{key}-unit_price": "50"})
    fragment = forms_site.post(f"/o/quote/{quote['id']}/edit/refresh", added, htmx=True).get_data(as_text=True)
    assert "350.00" in wrapper_of(fragment, "subtotal") and ">2<" in wrapper_of(fragment, "line_count")
    saved = forms_site.post(f"/o/quote/{quote['id']}/edit", added)
    assert saved.status_code == 303, saved.get_data(as_text=True)
    stored = forms_site.records.get("quote", quote["id"])
    assert stored["subtotal"] == Decimal("350.00") and stored["line_count"] == 2
    valve = forms_site.records.query("quote_line", filter={"quote": quote["id"], "product": forms_site.ids["valve"]}).rows[0]
    assert valve["name"] == "Valve"  # its default came from the product, as the engine does it


def test_removing_a_line_from_the_grid_deletes_it_when_saved(forms_site, tag):
    quote = _quote(forms_site, tag)
    line = forms_site.records.query("quote_line", filter={"quote": quote["id"]}).rows[0]
    page = forms_site.get(f"/o/quote/{quote['id']}/edit").get_data(as_text=True)
    kept = [(k, v) for k, v in form_inputs(page) if not k.startswith(f"lines-e{line['id']}-")]
    fragment = forms_site.post(f"/o/quote/{quote['id']}/edit/refresh", kept, htmx=True).get_data(as_text=True)
    assert ">0<" in wrapper_of(fragment, "line_count")
    assert forms_site.post(f"/o/quote/{quote['id']}/edit", kept).status_code == 303
    assert forms_site.records.get("quote", quote["id"])["line_count"] == 0


def test_a_line_changed_by_someone_else_is_a_conflict_too(forms_site, tag):
    quote = _quote(forms_site, tag)
    line = forms_site.records.query("quote_line", filter={"quote": quote["id"]}).rows[0]
    page = forms_site.get(f"/o/quote/{quote['id']}/edit").get_data(as_text=True)
    forms_site.records.update("quote_line", line["id"], {"notes": "theirs"}, version=line["version"])
    mine = replace(form_inputs(page), **{f"lines-e{line['id']}-quantity": "5"})
    response = forms_site.post(f"/o/quote/{quote['id']}/edit", mine)
    conflict = response.get_data(as_text=True)
    assert response.status_code == 409 and "Quote lines of this record were changed by someone else" in conflict
    assert 'value="5"' in tag_of(conflict, f"lines-e{line['id']}-quantity")
    again = forms_site.post(f"/o/quote/{quote['id']}/edit", form_inputs(conflict))
    assert again.status_code == 303, again.get_data(as_text=True)
    stored = forms_site.records.get("quote_line", line["id"])
    assert stored["quantity"] == Decimal("5") and stored["notes"] == "theirs"


def test_line_problems_are_shown_in_their_cells(forms_site, tag):
    quote = _quote(forms_site, tag)
    line = forms_site.records.query("quote_line", filter={"quote": quote["id"]}).rows[0]
    response = _post_form(forms_site, f"/o/quote/{quote['id']}/edit", **{f"lines-e{line['id']}-quantity": "-1"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The quantity must be greater than zero." in wrapper_of(page, f"lines-e{line['id']}-quantity")
    assert 'value="-1"' in tag_of(page, f"lines-e{line['id']}-quantity")


# ------------------------------------------------------------------------------ CSRF, languages, escaping

def test_form_posts_without_the_csrf_token_are_refused(forms_site, tag):
    page = forms_site.get("/o/lead/new").get_data(as_text=True)
    inputs = replace(form_inputs(page), name=f"{tag} Li", status="pending")
    assert forms_site.post("/o/lead/new", inputs, csrf=False).status_code == 400
    assert forms_site.post("/o/lead/new/refresh", inputs, csrf=False, htmx=True).status_code == 400
    assert forms_site.records.count("lead", filter={"name": f"{tag} Li"}).value == 0


def test_forms_speak_the_users_language(forms_site):
    client = forms_site.client("mei", fresh=True)
    page = client.get("/o/lead/new").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert "联系人姓名" in page and "线索信息" in page and "新建线索" in page
    assert ">保存</button>" in page and ">取消</a>" in page
    assert "未分配" in page  # picklist options in Chinese


def test_script_payloads_in_every_text_field_of_a_lead_are_escaped_on_the_edit_form(forms_site, store_script_payloads):
    lead, payloads = store_script_payloads(forms_site.records, SYSTEM, "EscForm")
    page = forms_site.get(f"/o/lead/{lead['id']}/edit").get_data(as_text=True)
    assert_escaped(page, payloads, "EscForm")
    for name in payloads:
        assert str(escape(payloads[name])) in wrapper_of(page, name), name  # in its own input, as text
