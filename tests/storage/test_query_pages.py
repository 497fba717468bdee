"""Sorting and pagination: keyset cursors at depth with duplicates and blanks, offsets, and
cursors that do not fit. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import datetime as dt
import json
import textwrap
from decimal import Decimal

import pytest

from tessera.metadata.filters import QueryError
from tessera.metadata.registry import build_org_registry
from tessera.storage.query import DEFAULT_SORT, QueryParams, QuerySpec, run_query
from tessera.storage.tables import StorageSchema

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
PARAMS = QueryParams(user_id=1, today=NOW.date(), now=NOW)
ROWS = 1000

PERSON = """
name: person
label: {en: Person, zh-CN: 人员}
plural_label: {en: People, zh-CN: 人员}
fields:
  name: {type: text, label: {en: Name, zh-CN: 姓名}}
"""

ITEM = """
name: item
label: {en: Item, zh-CN: 条目}
plural_label: {en: Items, zh-CN: 条目}
fields:
  name: {type: text, label: {en: Name, zh-CN: 名称}}
  rank: {type: integer, label: {en: Rank, zh-CN: 等级}}
  price: {type: currency, label: {en: Price, zh-CN: 价格}}
  due: {type: date, label: {en: Due, zh-CN: 到期}}
  done: {type: boolean, label: {en: Done, zh-CN: 完成}}
  seen_at: {type: datetime, label: {en: Seen at, zh-CN: 查看时间}}
  tags:
    type: multi_picklist
    label: {en: Tags, zh-CN: 标签}
    options:
      - {value: a, label: {en: A, zh-CN: 甲}}
  person: {type: lookup, target: person, related_name: items, label: {en: Person, zh-CN: 人员}}
  person_name: {type: formula, result: text, expression: "person.name", label: {en: Person name, zh-CN: 人员姓名}}
"""


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    root = tmp_path_factory.mktemp("pages")
    package = root / "pages"
    (package / "objects").mkdir(parents=True)
    (package / "package.yaml").write_text("name: pages\nversion: 1.0.0\nlabel: {en: pages, zh-CN: pages}\n")
    for name, text in (("person", PERSON), ("item", ITEM)):
        (package / "objects" / f"{name}.yaml").write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return build_org_registry(["pages"], search_paths=[root])


@pytest.fixture
def env(registry, database):
    """1,000 items whose sort columns are full of duplicates and blanks."""
    schema = StorageSchema(registry, database)
    schema.metadata.create_all(database.engine)
    people = [{"id": i, "name": name, "created_at": NOW, "updated_at": NOW}
              for i, name in enumerate(["Ann", "Bob", "Ann", None], start=1)]
    items = []
    for i in range(1, ROWS + 1):
        items.append({
            "id": i,
            "name": f"item {i % 13:02d}" if i % 11 else None,
            "rank": None if i % 7 == 0 else i % 5,
            "price": None if i % 3 == 0 else Decimal(i % 4) + Decimal("0.25"),
            "due": None if i % 4 == 0 else dt.date(2026, 1, 1 + i % 3),
            "done": None if i % 6 == 0 else bool(i % 2),
            "seen_at": None if i % 9 == 0 else NOW + dt.timedelta(microseconds=i % 4),
            "person": None if i % 5 == 0 else 1 + i % 4,
            # created_at repeats so the default sort leans on the id tie-breaker
            "created_at": NOW - dt.timedelta(days=i % 10), "updated_at": NOW,
        })
    with database.begin() as conn:
        conn.execute(schema.table("person").insert(), people)
        conn.execute(schema.table("item").insert(), items)
    return schema, database


def _page(env, **spec):
    schema, db = env
    with db.begin() as conn:
        return run_query(conn, schema, QuerySpec("item", fields=("id",), **spec), PARAMS)


def _walk(env, size, **spec):
    """Every id, following next_cursor from the first page to the last."""
    seen: list[int] = []
    cursor = None
    for _ in range(ROWS + 2):
        page = _page(env, limit=size, cursor=cursor, **spec)
        seen.extend(row["id"] for row in page.rows)
        cursor = page.next_cursor
        if cursor is None:
            return seen
    raise AssertionError("the pages never ended")


@pytest.mark.parametrize("sort", [
    ("rank",),
    ("-rank",),
    ("-rank", "name"),
    ("done", "-price", "due"),
    ("person.name", "-rank"),
    ("-seen_at",),
    (),
], ids=lambda s: ",".join(s) or "default")
def test_keyset_pages_return_every_row_exactly_once_in_order(env, sort):
    walked = _walk(env, 7, sort=sort)
    in_one_page = [row["id"] for row in _page(env, sort=sort, limit=ROWS).rows]
    assert len(walked) == ROWS
    assert sorted(walked) == list(range(1, ROWS + 1))
    assert walked == in_one_page


def test_blanks_sort_last_in_both_directions(env):
    schema, db = env
    for sort in (("rank",), ("-rank",)):
        with db.begin() as conn:
            rows = run_query(conn, schema, QuerySpec("item", fields=("rank",), sort=sort, limit=ROWS), PARAMS).rows
        ranks = [row["rank"] for row in rows]
        blanks = ranks.index(None)
        assert all(r is None for r in ranks[blanks:]) and None not in ranks[:blanks]
        assert ranks[:blanks] == sorted(ranks[:blanks], reverse=sort[0].startswith("-"))


def test_equal_sort_values_are_ordered_by_id_in_the_last_key_direction(env):
    ascending = [row["id"] for row in _page(env, sort=("rank",), limit=5).rows]
    descending = [row["id"] for row in _page(env, sort=("-rank",), limit=5).rows]
    assert ascending == [5, 10, 15, 20, 25]       # rank 0, ids ascending
    assert descending == [999, 989, 984, 979, 974]  # rank 4 (994 has none), ids descending


def test_the_default_sort_is_newest_first(env):
    assert DEFAULT_SORT == ("-created_at",)
    first = [row["id"] for row in _page(env, limit=3).rows]
    assert first == [1000, 990, 980]  # created today (i % 10 == 0), newest id first


def test_offset_pages_follow_the_same_order(env):
    whole = [row["id"] for row in _page(env, sort=("-price", "name"), limit=60).rows]
    pieces = []
    for offset in range(0, 60, 20):
        pieces.extend(row["id"] for row in _page(env, sort=("-price", "name"), limit=20, offset=offset).rows)
    assert pieces == whole


def test_an_offset_page_still_offers_the_next_cursor(env):
    page = _page(env, sort=("rank",), limit=10, offset=30)
    following = _page(env, sort=("rank",), limit=10, cursor=page.next_cursor)
    assert [r["id"] for r in following.rows] == [r["id"] for r in _page(env, sort=("rank",), limit=10, offset=40).rows]


def test_the_last_page_has_no_next_cursor(env):
    last = _page(env, sort=("id",), limit=10, offset=ROWS - 10)
    assert len(last.rows) == 10 and last.next_cursor is None
    assert _page(env, sort=("id",), limit=10, offset=ROWS - 11).next_cursor is not None


def test_sorting_through_a_lookup_uses_the_target_field(env):
    schema, db = env
    with db.begin() as conn:
        rows = run_query(conn, schema, QuerySpec("item", fields=("person.name",), sort=("-person.name",), limit=ROWS),
                         PARAMS).rows
    names = [row["person.name"] for row in rows]
    assert names[0] == "Bob" and names[-1] is None
    assert names.index("Ann") > names.index("Bob")


def _forge(payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize("cursor", [
    "not a cursor!",
    "e30",                                            # {} in base64url
    _forge({"s": ["rank", "id"], "v": [1]}),          # too few values
    _forge({"s": ["rank", "id"], "v": ["one", 5]}),   # a rank that is not a number
    _forge({"s": ["rank", "id"], "v": [1, None]}),    # no id
    _forge({"s": ["-rank", "-id"], "v": [1, 5]}),     # made for another sort
    _forge([1, 2]),
    "x" * 5000,
])
def test_an_invalid_cursor_is_refused(env, cursor):
    with pytest.raises(QueryError) as caught:
        _page(env, sort=("rank",), cursor=cursor)
    assert caught.value.errors == {"cursor": "invalid cursor; start again from the first page"}


def test_a_cursor_forged_with_valid_values_just_moves_the_position(env):
    page = _page(env, sort=("rank",), limit=3, cursor=_forge({"s": ["rank", "id"], "v": [0, 995]}))
    assert [row["id"] for row in page.rows] == [1000, 1, 6]


def test_unknown_and_unsortable_sort_fields_are_refused_with_reasons(env):
    for sort, message in [
        (("-rnak",), "unknown field 'rnak' (did you mean 'rank'?)"),
        (("person.nmae",), "unknown field 'nmae' on person (did you mean 'name'?)"),
        (("tags",), "'tags' is a multi_picklist field, which has no order to sort by"),
        (("person_name",), "'person_name' is a formula computed when read (it reads lookups or TODAY/NOW), "
                           "so the database cannot sort on it"),
        (("-",), "'-' names no field"),
    ]:
        with pytest.raises(QueryError) as caught:
            _page(env, sort=sort)
        assert caught.value.errors == {"sort": message}


def test_page_size_and_offset_are_checked(env):
    with pytest.raises(QueryError) as caught:
        _page(env, limit=5000, offset=-1)
    assert set(caught.value.errors) == {"limit", "offset"}
    first = _page(env, limit=2)
    with pytest.raises(QueryError, match="offset: give either a cursor or an offset, not both"):
        _page(env, limit=2, cursor=first.next_cursor, offset=4)


def test_sort_and_fields_may_be_given_as_comma_separated_text(env):
    schema, db = env
    with db.begin() as conn:
        page = run_query(conn, schema, QuerySpec("item", fields="rank, person.name", sort="-rank, id", limit=2), PARAMS)
    assert page.rows == [{"id": 4, "rank": 4, "person.name": "Ann"}, {"id": 9, "rank": 4, "person.name": "Bob"}]
