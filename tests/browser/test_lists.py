"""Lists, bulk actions and the kanban board in Chromium; typed text never runs as script."""

from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import Locator, Page, expect

from tessera.records.service import SYSTEM


def shown_ids(page: Page) -> list[str]:
    return page.locator("#list-table tbody tr[data-id]").evaluate_all("rows => rows.map(r => r.dataset.id)")


def test_a_filtered_sorted_list_is_a_shareable_url(page, signed_in_page, live_server, screenshot):
    page.goto("/o/lead?view=all")
    page.get_by_role("button", name="Add a filter").click()
    row = page.locator("#filter-rows .filter-row").last
    row.get_by_label("Field").select_option("status")
    expect(row.get_by_label("Value")).to_have_js_property("tagName", "SELECT")  # refitted for a picklist
    page.locator("#filter-rows .filter-row").last.get_by_label("Value").select_option("in_progress")
    page.get_by_role("button", name="Apply", exact=True).click()
    expect(page).to_have_url(re.compile(r"status=in_progress"))
    page.get_by_role("columnheader", name="Score").get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"sort=score"))
    expect(page.get_by_role("columnheader", name="Score")).to_have_attribute("aria-sort", "ascending")
    ids = shown_ids(page)
    expected = [str(r["id"]) for r in live_server.records.query(
        "lead", actor=SYSTEM, filter={"status": "in_progress"}, sort=["score"], fields=["id"], limit=50).rows]
    assert ids == expected
    screenshot(page, "list-filtered")
    shared = signed_in_page("admin")  # another browser: the copied URL shows the same rows
    shared.goto(page.url)
    expect(shared.locator("#list-table tbody tr[data-id]")).to_have_count(len(ids))
    assert shown_ids(shared) == ids
    expect(shared.locator("#filter-rows select[name=_f]")).to_have_value("status")
    shared.go_back()


def test_bulk_edit_from_the_list(page, live_server):
    admin = live_server.user("admin").actor()
    leads = [live_server.records.create("lead", {"name": f"Bulk browser {i}", "company": "Bulkco", "status": "pending",
                                                 "phone": f"+86 1390001{i:04d}"}, actor=admin) for i in range(2)]
    page.goto("/o/lead?view=all&q=Bulkco")
    expect(page.locator("#list-table tbody tr[data-id]")).to_have_count(2)
    page.get_by_label("Select every row on this page").check()
    page.get_by_label("Field", exact=True).last.select_option("industry")
    expect(page.locator("#bulk-value-input")).to_have_js_property("tagName", "SELECT")
    page.locator("#bulk-value-input").select_option("energy")
    page.get_by_role("button", name="Apply to the selected records").click()
    expect(page.locator("#bulk-outcome")).to_contain_text("Records changed: 2.")
    assert {live_server.records.get("lead", lead["id"])["industry"] for lead in leads} == {"energy"}


def drag(page: Page, card: Locator, column: Locator) -> None:
    """Drag with the mouse, in steps, as SortableJS expects (held by the card's top right corner:
    its links and the "Move to" list do not start a drag)."""
    card.scroll_into_view_if_needed()
    start = card.bounding_box()
    page.mouse.move(start["x"] + start["width"] - 6, start["y"] + 6)
    page.mouse.down()
    end = column.bounding_box()
    page.mouse.move(start["x"] + 30, start["y"] + 30, steps=5)
    page.mouse.move(end["x"] + 40, end["y"] + 30, steps=15)
    page.mouse.move(end["x"] + 50, end["y"] + 40, steps=5)  # let the list under the pointer take the card
    page.mouse.up()


def new_deal(live_server, name, **values):
    admin = live_server.user("admin").actor()
    account = live_server.records.create("account", {"name": f"{name} account"}, actor=admin)
    close = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    return live_server.records.create("opportunity", {"name": name, "account": account["id"], "close_date": close,
                                                      **values}, actor=admin)


def test_move_an_opportunity_on_the_board_and_see_a_refused_move_come_back(page, live_server, screenshot):
    good = new_deal(live_server, "Drag me deal", amount="25000")
    bad = new_deal(live_server, "No amount deal")
    page.goto("/o/opportunity/kanban?group=stage")
    column = lambda value: page.locator(f'ol.kanban-cards[data-value="{value}"]')  # noqa: E731
    good_card, bad_card = page.locator(f"#card-{good['id']}"), page.locator(f"#card-{bad['id']}")
    expect(column("qualify").locator(f"#card-{good['id']}")).to_be_visible()
    needs_count = int(page.locator('.kanban-column[data-value="needs"] .kanban-count').inner_text())

    drag(page, good_card, column("needs"))
    expect(column("needs").locator(f"#card-{good['id']}")).to_be_visible()
    expect(good_card).not_to_have_attribute("data-refused", "")
    expect(page.locator('.kanban-column[data-value="needs"] .kanban-count')).to_have_text(str(needs_count + 1))
    assert live_server.records.get("opportunity", good["id"])["stage"] == "needs"

    drag(page, bad_card, column("proposal"))
    expect(bad_card.locator(".card-problems")).to_contain_text("Enter the amount once a proposal has been made.")
    expect(column("qualify").locator(f"#card-{bad['id']}")).to_be_visible()  # back where it came from
    assert live_server.records.get("opportunity", bad["id"])["stage"] == "qualify"
    screenshot(page, "kanban")


def test_move_a_card_with_the_keyboard(page, live_server):
    deal = new_deal(live_server, "Keyboard deal")
    page.goto("/o/opportunity/kanban?group=stage")
    mover = page.get_by_label("Move to").and_(page.locator(f"#move-{deal['id']}"))
    mover.focus()
    mover.select_option("needs")
    expect(page.locator(f'ol.kanban-cards[data-value="needs"] #card-{deal["id"]}')).to_be_visible()
    expect(page.locator(f"#move-{deal['id']}")).to_be_focused()
    assert live_server.records.get("opportunity", deal["id"])["stage"] == "needs"


def test_script_payloads_never_run_on_the_list_search_and_board(page, live_server, store_script_payloads):
    lead, payloads = store_script_payloads(live_server.records, live_server.user("admin").actor(), "Xs5")
    text = payloads["name"]
    for path in ("/o/lead?view=all&q=Xs5", "/search?q=Xs5", "/o/lead/kanban?q=Xs5", "/"):
        page.goto(path)
        expect(page.get_by_text(text, exact=True).first).to_be_visible()  # shown, as text
        assert page.evaluate("window.__xss") is None, path
    page.goto("/o/lead?view=all&q=Xs5")
    page.get_by_role("columnheader", name="Company").get_by_role("link").click()  # after an htmx swap too
    expect(page).to_have_url(re.compile(r"sort=company"))
    expect(page.get_by_text(payloads["company"], exact=True).first).to_be_visible()
    assert page.evaluate("window.__xss") is None
