"""The list endpoint: the one filter syntax in the query string, sort, fields, expand, search,
pages and counts."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
import sqlalchemy as sa


@pytest.fixture
def accounts(api, tag):
    """Five accounts of this test: employees 10..50 in three regions."""
    regions = ["east", "east", "north", "west", "east"]
    return [api.records.create("account", {"name": f"{tag} {index}", "region": region, "employees": 10 * (index + 1),
                                           "description": f"{tag} account"})
            for index, region in enumerate(regions)]


def names(response):
    assert response.status_code == 200, response.get_json()
    return [row["name"] for row in response.get_json()["data"]]


def test_query_string_filters_and_sort(api, tag, accounts):
    response = api.get(f"/api/v1/account?description={tag}%20account&region=east&employees__gte=20&sort=-employees")
    assert names(response) == [f"{tag} 4", f"{tag} 1"]
    listed = api.get(f"/api/v1/account?description={tag}%20account&region__in=north,west&sort=employees")
    assert names(listed) == [f"{tag} 2", f"{tag} 3"]


def test_a_json_filter_gives_or_groups(api, tag, accounts):
    where = json.dumps({"or": [{"employees__lte": 10}, {"region": "west"}]})
    response = api.get("/api/v1/account", query_string={"description": f"{tag} account", "filter": where,
                                                         "sort": "employees"})
    assert names(response) == [f"{tag} 0", f"{tag} 3"]


def test_fields_pick_columns_and_follow_lookups(api, tag):
    account = api.post("/api/v1/account", {"name": f"{tag} Acme", "region": "east"})
    assert account.status_code == 201, account.get_json()
    contact = api.post("/api/v1/contact", {"name": f"{tag} Wang", "account": account.get_json()["id"],
                                           "mobile": "13800138000"})
    assert contact.status_code == 201, contact.get_json()

    response = api.get(f"/api/v1/contact?account.name={tag}%20Acme&fields=name,account.name,account.region")

    assert response.get_json()["data"] == [{"id": contact.get_json()["id"], "name": f"{tag} Wang",
                                            "account.name": f"{tag} Acme", "account.region": "east"}]


def test_pages_follow_next_cursor_to_the_end_and_offset_jumps(api, tag, accounts):
    seen, cursor = [], None
    while True:
        query = {"description": f"{tag} account", "sort": "employees", "limit": 2, **({"cursor": cursor} if cursor else {})}
        body = api.get("/api/v1/account", query_string=query).get_json()
        seen += [row["employees"] for row in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [10, 20, 30, 40, 50]
    jumped = api.get("/api/v1/account", query_string={"description": f"{tag} account", "sort": "employees",
                                                      "limit": 2, "offset": 3})
    assert [row["employees"] for row in jumped.get_json()["data"]] == [40, 50]


def test_the_count_is_exact_for_the_filter_and_can_be_left_out(api, tag, accounts):
    body = api.get(f"/api/v1/account?description={tag}%20account&region=east&limit=1").get_json()
    assert body["count"] == {"value": 3, "exact": True, "estimated": False}
    assert len(body["data"]) == 1 and body["next_cursor"]
    assert api.get(f"/api/v1/account?description={tag}%20account&count=false").get_json()["count"] is None


def test_search_matches_words_in_the_search_fields(api, tag, accounts):
    api.records.create("account", {"name": f"{tag} Zhongshan Pumps"})
    response = api.get("/api/v1/account", query_string={"q": f"pumps {tag}"})
    assert names(response) == [f"{tag} Zhongshan Pumps"]


def test_the_default_page_is_50_and_the_limit_at_most_1000(api, problem):
    assert problem(api.get("/api/v1/lead?limit=1001"), 400)["errors"]["limit"]
    assert problem(api.get("/api/v1/lead?limit=abc"), 400)["errors"]["limit"]
    assert api.get("/api/v1/lead?limit=1000").status_code == 200


@contextmanager
def statements(api):
    """The SQL statements the org's database runs inside the block."""
    engine = api.records.db.engine
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def quote(api, tag, lines):
    account = api.records.create("account", {"name": f"{tag} {len(lines)} Acme"})
    body = {"name": f"{tag} quote", "account": account["id"], "price_book": api.ids["price_book"],
            "lines": [{"product": api.ids["product"], "unit": api.ids["unit"], "quantity": quantity,
                       "unit_price": "10.25"}
                      for quantity in lines]}
    response = api.post("/api/v1/quote", body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_expand_returns_master_detail_children_with_their_parent(api, tag):
    created = quote(api, tag, [2, 3])

    one = api.get(f"/api/v1/quote/{created['id']}?expand=lines").get_json()
    assert [line["quantity"] for line in one["lines"]] == ["2.0000", "3.0000"]
    assert all(line["quote"] == created["id"] for line in one["lines"])
    listed = api.get(f"/api/v1/quote?name={tag}%20quote&expand=lines").get_json()["data"]
    assert [len(row["lines"]) for row in listed] == [2]


def test_expand_reads_the_children_of_a_whole_page_in_one_query(api, tag):
    for count in (1, 2, 3, 4):
        quote(api, tag, [1] * count)
    with statements(api) as seen:
        listed = api.get(f"/api/v1/quote?name={tag}%20quote&sort=line_count&expand=lines").get_json()["data"]
    assert [len(row["lines"]) for row in listed] == [1, 2, 3, 4]
    child_reads = [s for s in seen if "quote_line" in s.split("FROM", 1)[-1].split("WHERE")[0]]
    assert len(child_reads) == 1, child_reads


def test_expand_names_only_master_detail_lists(api, problem):
    body = problem(api.get("/api/v1/quote?expand=lines,contacts"), 400)
    assert "contacts" in body["errors"]["expand"][0] and "lines" in body["errors"]["expand"][0]


def test_a_result_that_fits_on_one_page_is_counted_without_another_query(api, tag, accounts):
    with statements(api) as seen:
        body = api.get(f"/api/v1/account?description={tag}%20account").get_json()
    assert body["count"] == {"value": 5, "exact": True, "estimated": False}
    assert not [s for s in seen if "count(" in s.lower()]
    with statements(api) as seen:
        paged = api.get(f"/api/v1/account?description={tag}%20account&limit=2").get_json()
    assert paged["count"]["value"] == 5 and [s for s in seen if "count(" in s.lower()]
