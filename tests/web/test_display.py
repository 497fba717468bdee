"""format_value: every field type, for the reader's locale and time zone, always escaped."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from markupsafe import Markup

from tessera.web.display import Ref, format_value

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def field(site):
    registry = site.extensions["tessera"]
    return lambda path: registry.object(path.split(".")[0]).fields[path.split(".")[1]]


def show(field, value, locale="en", **options):
    return str(format_value(field, value, locale, **options))


def test_text_is_escaped(field):
    assert show(field("lead.name"), "<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert show(field("lead.description"), 'a "quote" & <b>') == "a &#34;quote&#34; &amp; &lt;b&gt;"


def test_blank_values_show_as_nothing(field):
    for value in (None, "", []):
        assert format_value(field("lead.name"), value, "en") == ""


def test_numbers_percent_and_money_follow_the_locale(field):
    assert show(field("lead.score"), 1234) == "1,234"
    assert show(field("opportunity.probability"), Decimal("15.5")) == "15.50%"
    amount = field("opportunity.amount")
    assert show(amount, Decimal("1234567.5")) == "1,234,567.50"  # no record: no code
    assert show(amount, Decimal("1234567.5"), record={"currency": "CNY"}) == \
        '<span class="currency-code">CNY</span>\u00a01,234,567.50'
    assert show(amount, Decimal("9.9"), "zh-CN", record={"currency": "USD<b>"}) == \
        '<span class="currency-code">USD&lt;b&gt;</span>\u00a09.90'


def test_dates_and_times_in_the_locale_and_the_time_zone(field):
    assert show(field("opportunity.close_date"), dt.date(2026, 3, 5)) == "Mar 5, 2026"
    assert show(field("opportunity.close_date"), dt.date(2026, 3, 5), "zh-CN") == "2026年3月5日"
    moment = dt.datetime(2026, 3, 5, 23, 30, tzinfo=dt.UTC)
    assert show(field("lead.created_at"), moment, tz=SHANGHAI) == "Mar 6, 2026, 7:30:00\u202fAM"
    assert show(field("lead.created_at"), moment, "zh-CN", tz=SHANGHAI) == "2026年3月6日 07:30:00"


def test_picklists_show_their_labels_in_the_locale(field):
    status = field("lead.status")
    assert show(status, "in_progress") == '<span class="option" style="--option-color: #2563eb">In progress</span>'
    assert "跟进中" in show(status, "in_progress", "zh-CN")
    assert show(status, "gone<x>") == '<span class="option">gone&lt;x&gt;</span>'  # an option since removed
    industries = field("bid_subscription.industries")
    shown = show(industries, ["software", "energy"], "zh-CN")
    assert shown.count('class="option"') == 2


def test_booleans_read_yes_or_no(field):
    assert show(field("account.in_pool"), True) == "Yes"
    assert show(field("account.in_pool"), False, "zh-CN") == "否"


def test_lookups_link_to_the_record_and_users_show_their_name(field):
    account = field("opportunity.account")
    assert show(account, Ref(7, "Acme <Ltd>", "account")) == '<a href="/o/account/7">Acme &lt;Ltd&gt;</a>'
    assert show(account, 7) == '<a href="/o/account/7">#7</a>'
    assert show(field("lead.owner_id"), Ref(3, "Liu Yang")) == "Liu Yang"


def test_links_are_made_only_for_safe_schemes(field):
    assert show(field("lead.email"), "a@b.cn") == '<a href="mailto:a@b.cn">a@b.cn</a>'
    assert show(field("lead.phone"), "+86 139 0000 1234") == '<a href="tel:+8613900001234">+86 139 0000 1234</a>'
    assert show(field("lead.website"), "https://x.cn/?a=1&b=2") == \
        '<a href="https://x.cn/?a=1&amp;b=2" rel="noopener noreferrer" target="_blank">https://x.cn/?a=1&amp;b=2</a>'
    assert show(field("lead.website"), "javascript:alert(1)") == "javascript:alert(1)"


def test_formulas_and_rollups_show_as_their_result(field, site):
    with site.test_request_context("/"):
        assert show(field("opportunity.weighted_amount"), Decimal("10"), record={"currency": "CNY"}) == "10.00"
        assert show(field("lead.days_since_activity"), 12) == "12"


def test_the_result_is_markup_for_templates(field):
    assert isinstance(format_value(field("lead.status"), "pending", "en"), Markup)


def test_the_template_filter_uses_the_requests_locale(site, field):
    with site.test_request_context("/?lang=zh-CN"):
        template = site.jinja_env.from_string("{{ value|format_value(field) }}")
        assert "待处理" in template.render(value="pending", field=field("lead.status"))
