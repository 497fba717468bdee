"""The app shell in Chromium: sign in, navigate, search everything, switch language."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tessera.records.service import SYSTEM

DEMO_PASSWORD = "tessera-demo"


def test_sign_in_and_reach_a_list_from_the_app_menu(browser, live_server, screenshot):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto("/o/lead?lang=en")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    screenshot(page, "login")
    page.get_by_label("User name").fill("zhang.wei")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Leads")).to_be_visible()  # back where they were going
    page.goto("/")
    expect(page.get_by_role("heading", name="Your apps")).to_be_visible()
    screenshot(page, "home")
    page.get_by_role("button", name="Sales").click()
    page.locator('ul[aria-labelledby="app-sales"]').get_by_role("link", name="Opportunities").click()
    expect(page.get_by_role("heading", name="Opportunities")).to_be_visible()
    expect(page.locator("#app-sales")).to_have_attribute("aria-current", "true")
    context.close()


def test_find_a_lead_by_global_search(page, live_server, screenshot):
    lead = live_server.records.query("lead", actor=SYSTEM, fields=["name", "company"],
                                     filter={"company__is_blank": False, "status": "in_progress"}, limit=1).rows[0]
    search = page.get_by_role("searchbox", name="Search all records")
    search.fill(lead["company"])
    search.press("Enter")
    hit = page.locator(f'[data-object="lead"] a[href="/o/lead/{lead["id"]}"]')
    expect(hit).to_have_text(lead["name"])
    screenshot(page, "search")
    page.get_by_role("searchbox", name="Find records").fill(lead["name"])  # refine: live results, same page
    expect(page).to_have_url(re.compile(r"/search\?q="))
    expect(hit).to_be_visible()


def test_switch_to_chinese_and_see_chinese_labels(page, screenshot):
    page.goto("/o/lead?view=all")
    expect(page.get_by_role("columnheader", name="Contact name")).to_be_visible()
    page.get_by_role("link", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", name="线索")).to_be_visible()
    expect(page.get_by_role("columnheader", name="联系人姓名")).to_be_visible()
    page.get_by_role("columnheader", name="线索评分").get_by_role("link").click()  # an htmx swap stays Chinese
    expect(page).to_have_url(re.compile(r"sort=score"))
    expect(page.get_by_role("columnheader", name="线索评分")).to_have_attribute("aria-sort", "ascending")
    expect(page.get_by_role("columnheader", name="联系人姓名")).to_be_visible()
    screenshot(page, "list-zh-CN")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("columnheader", name="Contact name")).to_be_visible()
    expect(page).to_have_url(re.compile(r"sort=score"))  # the switch kept the list as it was
