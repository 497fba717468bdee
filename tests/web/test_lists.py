"""List views /o/<object>: one query rendered as a page, an htmx fragment or JSON; views,
filters in the API's query-string form, sort, keyset pages, hidden fields, errors."""

from __future__ import annotations

import re

from tessera.records.service import SYSTEM

HTMX = {"HX-Request": "true"}


def system_ids(records, object_name, **options):
    return [row["id"] for row in records.query(object_name, actor=SYSTEM, fields=["id"], limit=1000, **options).rows]


def test_a_sales_rep_sees_only_their_own_open_leads_by_default(sign_in, records, actor, row_ids):
    rep = actor("zhang.wei")
    page = sign_in("zhang.wei").get("/o/lead?lang=en").get_data(as_text=True)
    assert "My open leads" in page
    expected = system_ids(records, "lead", filter={"owner_id": rep.id, "status__in": ["pending", "in_progress"]},
                          sort=["-score", "-created_at"])
    assert expected and row_ids(page) == expected


def test_the_all_view_still_hides_other_reps_leads_from_a_rep(sign_in, records, actor, row_ids):
    rep = actor("zhang.wei")
    shown = set(row_ids(sign_in("zhang.wei").get("/o/lead?view=all").get_data(as_text=True)))
    theirs = set(system_ids(records, "lead", filter={"owner_id__ne": rep.id, "status__ne": "unassigned"}))
    assert shown and not shown & theirs


def test_an_htmx_request_gets_only_the_table_and_the_shareable_url(sign_in):
    client = sign_in()
    response = client.get("/o/lead?view=all&status=in_progress&_f=grade&_op=in&_v=warm,hot", headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html and 'id="list-table"' in html
    assert response.headers["HX-Push-Url"] == "/o/lead?view=all&status=in_progress&grade__in=warm%2Chot"
    assert "HX-Request" in response.headers["Vary"]
    full = client.get("/o/lead?view=all&status=in_progress&grade__in=warm,hot").get_data(as_text=True)
    assert "<html" in full and 'id="list-controls"' in full
    assert _rows(full) == _rows(html)  # the same state, from the same query


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr data-id="(\d+)"', html)


def test_a_filter_bar_sent_without_htmx_redirects_to_the_canonical_url(sign_in):
    response = sign_in().get("/o/lead?view=all&_f=status&_op=eq&_v=pending&_f=score&_op=gte&_v=40&_f=&_op=eq&_v=")
    assert response.status_code == 303
    assert response.headers["Location"] == "/o/lead?view=all&status=pending&score__gte=40"


def test_url_filters_use_the_one_filter_syntax(sign_in, records, row_ids):
    page = sign_in().get("/o/lead?view=all&status=in_progress&score__gte=40&sort=-score").get_data(as_text=True)
    expected = system_ids(records, "lead", filter={"status": "in_progress", "score__gte": 40}, sort=["-score"])
    assert expected and row_ids(page) == expected
    assert f"Records: {len(expected)}" in page
    # the filter bar shows the filters of the URL, ready to change
    assert 'id="f-u1"' in page and re.search(r'<option value="status"\s+selected>', page)


def test_header_links_sort_and_toggle_the_direction(sign_in, records, row_ids):
    client = sign_in()
    ascending = client.get("/o/lead?view=all&sort=score", headers=HTMX).get_data(as_text=True)
    assert row_ids(ascending) == system_ids(records, "lead", sort=["score"])[:50]
    assert 'data-column="score" aria-sort="ascending"' in ascending
    assert 'href="/o/lead?view=all&amp;sort=-score"' in ascending  # a second click sorts descending
    assert '<input type="hidden" id="list-sort" name="sort" value="score" hx-swap-oob="true">' in ascending


def test_keyset_pages_follow_each_other(sign_in, records, row_ids):
    client = sign_in()
    first = client.get("/o/price_book_entry?view=all&sort=id").get_data(as_text=True)
    next_url = re.search(r'id="next-page" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = client.get(next_url, headers=HTMX).get_data(as_text=True)
    assert row_ids(first) + row_ids(second) == system_ids(records, "price_book_entry", sort=["id"])[:100]
    assert 'id="first-page"' in second


def test_unknown_fields_operators_and_bad_values_are_explained_not_crashed(sign_in):
    client = sign_in()
    for query, expected in [("nope=1", "There is no field “nope” to filter on."),
                            ("status__zz=1", "“zz” is not a filter operator"),
                            ("score__gte=lots", "score__gte: expected a number, got &#39;lots&#39;"),
                            ("status=sideways", "is not one of the options"),
                            ("sort=nope", "sort: unknown field &#39;nope&#39;"),
                            ("view=missing", "There is no list view called “missing”.")]:
        response = client.get(f"/o/lead?{query}")
        html = response.get_data(as_text=True)
        assert response.status_code == 400, query
        assert 'id="list-errors"' in html and expected in html, (query, html[html.find("list-errors"):][:600])
        assert "Traceback" not in html


def test_an_error_is_also_a_fragment_for_htmx(sign_in):
    response = sign_in().get("/o/lead?nope=1", headers=HTMX)
    assert response.status_code == 400
    assert "<html" not in response.get_data(as_text=True) and "There is no field" in response.get_data(as_text=True)


def test_hidden_fields_are_not_columns_filters_sorts_nor_in_the_html(sign_in, records):
    client = sign_in("lin.xiao")  # marketing: opportunity.amount is hidden
    page = client.get("/o/opportunity?view=closing_this_month&lang=en").get_data(as_text=True)
    assert 'data-column="amount"' not in page and 'data-column="weighted_amount"' not in page
    assert 'value="amount"' not in page  # not offered in the filter bar either
    amounts = [row["amount"] for row in records.query("opportunity", actor=SYSTEM, fields=["amount"],
                                                      filter={"amount__is_blank": False}, limit=20).rows]
    assert amounts and not any(f"{amount:,.2f}" in page for amount in amounts)
    for query in ("amount__gte=0", "sort=-amount"):
        response = client.get(f"/o/opportunity?view=all&{query}")
        assert response.status_code == 400 and "amount" in response.get_data(as_text=True)
    # views that filter or sort on a hidden field are not offered
    assert 'value="my_pipeline"' in page and 'value="closing_this_month"' in page


def test_lookup_columns_show_the_linked_record_name(sign_in, records):
    page = sign_in().get("/o/opportunity?view=all&lang=en").get_data(as_text=True)
    opportunity = records.query("opportunity", actor=SYSTEM, fields=["account", "account.name"], limit=1).rows[0]
    assert f'<a href="/o/account/{opportunity["account"]}">' in page


def test_unknown_objects_are_404_and_unreadable_ones_403(sign_in):
    client = sign_in("zhang.wei")
    missing = client.get("/o/spaceship")
    assert missing.status_code == 404 and "Not found" in missing.get_data(as_text=True)
    forbidden = client.get("/o/invoice?lang=en")
    assert forbidden.status_code == 403 and "Your role may not see this" in forbidden.get_data(as_text=True)
    assert "<html" in forbidden.get_data(as_text=True)  # in the shell, not a bare error


def test_strangers_are_sent_to_sign_in(site):
    client = site.test_client()
    assert client.get("/o/lead").status_code == 302
    response = client.get("/o/lead", headers=HTMX)
    assert response.status_code == 401 and response.headers["HX-Redirect"].startswith("/login")


def test_json_comes_from_the_same_query(sign_in, row_ids):
    client = sign_in()
    body = client.get("/o/lead?view=all&status=pending", headers={"Accept": "application/json"}).get_json()
    page = client.get("/o/lead?view=all&status=pending").get_data(as_text=True)
    assert [row["id"] for row in body["data"]] == row_ids(page)
    assert body["view"] == "all" and body["count"]["value"] == len(body["data"])


def test_choosing_a_board_view_opens_the_board(sign_in):
    client = sign_in()
    assert client.get("/o/lead?view=by_status").headers["Location"] == "/o/lead/kanban?view=by_status&group=status"
    response = client.get("/o/lead?view=by_status", headers=HTMX)
    assert response.headers["HX-Redirect"] == "/o/lead/kanban?view=by_status&group=status"


def test_labels_follow_the_language(sign_in):
    page = sign_in().get("/o/lead?view=all&lang=zh-CN").get_data(as_text=True)
    assert "联系人姓名" in page and "全部线索" in page and "筛选条件" in page
