"""Forms and record pages in Chromium: a validation error fixed without retyping, a quote's line
grid whose totals the server recomputes as lines change, and typed script that never runs."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect



def _admin(live_server):
    return live_server.user("admin").actor()


def test_create_a_lead_with_a_validation_error_then_fix_it(signed_in_page, screenshot):
    page: Page = signed_in_page("zhang.wei")
    page.goto("/o/lead/new")
    page.get_by_label("Contact name").fill("Browser Li")
    page.get_by_label("Company", exact=True).fill("Browser & Sons")
    page.get_by_label("Mobile").fill("12345")
    page.get_by_label("Status").select_option("invalid")  # the server shows the reason, now required
    expect(page.get_by_label("Invalid reason")).to_have_attribute("aria-required", "true")
    page.get_by_label("Status").select_option("pending")
    expect(page.get_by_label("Invalid reason")).to_have_count(0)
    page.get_by_role("textbox", name="Requirements").fill("Pumps\nand valves")
    page.get_by_role("button", name="Save").click()
    error = page.locator("#f-phone-error")
    expect(error).to_contain_text("11-digit Chinese mobile number")
    expect(page.get_by_label("Mobile")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Company", exact=True)).to_have_value("Browser & Sons")  # nothing typed is lost
    expect(page.get_by_role("textbox", name="Requirements")).to_have_value("Pumps\nand valves")
    expect(page.locator("#form-errors")).to_be_focused()
    screenshot(page, "form-lead-error")
    page.get_by_label("Mobile").fill("13800138000")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/o/lead/\d+$"))
    expect(page.locator("#record-title")).to_have_text("Browser Li")
    expect(page.locator("#d-company")).to_contain_text("Browser & Sons")
    screenshot(page, "record-lead")


def test_edit_a_quotes_lines_and_see_the_totals_update(page, live_server, screenshot):
    records = live_server.records
    admin = _admin(live_server)
    book = records.query("price_book", actor=admin, filter={"active": True, "currency": "CNY"}, limit=1).rows[0]
    products = records.query("product", actor=admin, filter={"status": "on_sale", "sold_separately": True,
                                                             "product_type": "physical"}, limit=2, sort=["name"],
                             fields=["name", "unit"]).rows
    unit = records.get("unit", products[0]["unit"], actor=admin)
    account = records.create("account", {"name": "Grid Browser Buyer"}, actor=admin)
    quote = records.create("quote", {"name": "Grid browser quote", "account": account["id"], "price_book": book["id"],
                                     "header_discount": "0", "lines": [
        {"product": products[0]["id"], "unit": unit["id"], "quantity": "2", "unit_price": "100", "tax_rate": "0"}]},
        actor=admin)
    line = records.query("quote_line", actor=admin, filter={"quote": quote["id"]}).rows[0]
    page.goto(f"/o/quote/{quote['id']}/edit")
    expect(page.locator("#f-subtotal")).to_have_text("200.00")
    quantity = page.locator(f"#f-lines-e{line['id']}-quantity")
    quantity.fill("3")
    quantity.press("Tab")  # a change: the server recomputes the line and the quote
    expect(page.locator(f"#f-lines-e{line['id']}-net_amount")).to_have_text("300.00")
    expect(page.locator("#f-subtotal")).to_have_text("300.00")
    expect(page.locator("#f-grand_total")).to_have_text("300.00")
    page.get_by_role("button", name="Add a line").click()
    row = page.locator("#grid-lines-rows tr[data-row]").last
    product = row.get_by_role("combobox", name="Product")
    expect(product).to_be_focused()
    product.fill(products[1]["name"][:4])
    expect(row.get_by_role("option", name=products[1]["name"])).to_be_visible()
    for _ in range(row.get_by_role("option").count()):  # the keyboard picks the product
        product.press("ArrowDown")
        active = page.locator(f"#{product.get_attribute('aria-activedescendant')}")
        if active.get_attribute("data-label") == products[1]["name"]:
            break
    product.press("Enter")
    expect(product).to_have_value(products[1]["name"])
    unit_box = row.get_by_role("combobox", name="Unit")
    unit_box.fill(unit["name"])
    expect(row.get_by_role("option", name=unit["name"]).first).to_be_visible()
    unit_box.press("ArrowDown")
    unit_box.press("Enter")
    row.get_by_label("Unit price").fill("50")
    row.get_by_label("Unit price").press("Tab")
    expect(page.locator("#f-line_count")).to_have_text("2")
    expect(page.locator("#f-subtotal")).to_have_text("350.00")
    screenshot(page, "form-quote-lines")
    first = page.locator(f"#row-lines-e{line['id']}")
    first.get_by_role("button", name="Remove this line").click()
    expect(page.locator("#f-subtotal")).to_have_text("50.00")
    expect(page.locator("#f-line_count")).to_have_text("1")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(rf"/o/quote/{quote['id']}$"))
    expect(page.locator("#d-subtotal")).to_contain_text("50.00")
    stored = records.get("quote", quote["id"], actor=admin)
    assert stored["line_count"] == 1 and str(stored["subtotal"]) == "50.00"


def test_script_typed_into_a_lead_never_runs_on_its_page(page, live_server, store_script_payloads):
    admin = _admin(live_server)
    lead, payloads = store_script_payloads(live_server.records, admin, "BrowserEsc")
    live_server.records.create("activity", {"subject": payloads["name"], "summary": payloads["description"],
                                            "lead": lead["id"]}, actor=admin)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    for path in (f"/o/lead/{lead['id']}", f"/o/lead/{lead['id']}/edit"):
        page.goto(path)
        expect(page.locator("main")).to_contain_text("window.__xss=1")  # shown as text
        assert page.evaluate("window.__xss") is None, path
    page.goto(f"/o/lead/{lead['id']}")
    expect(page.locator("#d-company dd")).to_have_text(payloads["company"])
    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Company", exact=True)).to_have_value(payloads["company"])
    assert page.evaluate("window.__xss") is None and dialogs == []
