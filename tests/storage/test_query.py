"""The query compiler: every filter operator, lookups, search, fields and counts, on SQLite and
PostgreSQL (the ``database`` fixture runs each test on both)."""

from __future__ import annotations

import datetime as dt
import textwrap
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tessera.metadata.filters import Condition, Group, QueryError, parse_query_filters
from tessera.metadata.registry import build_org_registry
from tessera.metadata.scope import RegistryScope
from tessera.storage.query import Count, QueryParams, QuerySpec, count, plan_query, run_query
from tessera.storage.tables import StorageSchema

UTC = dt.UTC
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PARAMS = QueryParams(user_id=7, today=dt.date(2026, 3, 1), now=NOW)

ACCOUNT = """
name: account
label: {en: Account, zh-CN: 客户}
plural_label: {en: Accounts, zh-CN: 客户}
search_fields: [name]
fields:
  name: {type: text, label: {en: Name, zh-CN: 名称}}
  region:
    type: picklist
    label: {en: Region, zh-CN: 区域}
    options:
      - {value: East, label: {en: East, zh-CN: 华东}}
      - {value: West, label: {en: West, zh-CN: 华西}}
  parent: {type: lookup, target: account, related_name: children, label: {en: Parent, zh-CN: 上级客户}}
"""

DEAL = """
name: deal
label: {en: Deal, zh-CN: 商机}
plural_label: {en: Deals, zh-CN: 商机}
search_fields: [name, code]
fields:
  name: {type: text, label: {en: Name, zh-CN: 名称}}
  code: {type: text, label: {en: Code, zh-CN: 编码}}
  stage:
    type: picklist
    label: {en: Stage, zh-CN: 阶段}
    options:
      - {value: new, label: {en: New, zh-CN: 新建}}
      - {value: won, label: {en: Won, zh-CN: 赢单}}
      - {value: lost, label: {en: Lost, zh-CN: 输单}}
  amount: {type: currency, label: {en: Amount, zh-CN: 金额}}
  score: {type: integer, label: {en: Score, zh-CN: 评分}}
  close_date: {type: date, label: {en: Close date, zh-CN: 成交日期}}
  closed_at: {type: datetime, label: {en: Closed at, zh-CN: 关闭时间}}
  hot: {type: boolean, label: {en: Hot, zh-CN: 重点}}
  tags:
    type: multi_picklist
    label: {en: Tags, zh-CN: 标签}
    options:
      - {value: a, label: {en: A, zh-CN: 甲}}
      - {value: b, label: {en: B, zh-CN: 乙}}
      - {value: c, label: {en: C, zh-CN: 丙}}
  data: {type: json, label: {en: Data, zh-CN: 数据}}
  account: {type: lookup, target: account, related_name: deals, label: {en: Account, zh-CN: 客户}}
  double_amount: {type: formula, result: currency, expression: "amount * 2", label: {en: Double, zh-CN: 双倍}}
  account_label: {type: formula, result: text, expression: "account.name", label: {en: Account name, zh-CN: 客户名}}
"""

DEAL_ROLE = """
name: deal_role
label: {en: Deal role, zh-CN: 商机角色}
plural_label: {en: Deal roles, zh-CN: 商机角色}
name_field: deal
fields:
  deal: {type: lookup, target: deal, related_name: roles, label: {en: Deal, zh-CN: 商机}}
  role: {type: text, label: {en: Role, zh-CN: 角色}}
"""


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    root = tmp_path_factory.mktemp("query")
    package = root / "pkg"
    (package / "objects").mkdir(parents=True)
    (package / "package.yaml").write_text("name: pkg\nversion: 1.0.0\nlabel: {en: pkg, zh-CN: pkg}\n")
    (package / "objects" / "account.yaml").write_text(textwrap.dedent(ACCOUNT).lstrip(), encoding="utf-8")
    (package / "objects" / "deal.yaml").write_text(textwrap.dedent(DEAL).lstrip(), encoding="utf-8")
    (package / "objects" / "deal_role.yaml").write_text(textwrap.dedent(DEAL_ROLE).lstrip(), encoding="utf-8")
    return build_org_registry(["pkg"], search_paths=[root])


def _insert(conn, table, rows):
    for row in rows:  # one by one: a key left out stays SQL NULL (JSON None would be 'null')
        conn.execute(table.insert().values(created_at=NOW, updated_at=NOW, **row))


@pytest.fixture
def env(registry, database):
    schema = StorageSchema(registry, database)
    schema.metadata.create_all(database.engine)
    with database.begin() as conn:
        _insert(conn, schema.table("account"), [
            {"id": 1, "name": "Holding", "region": "East"},
            {"id": 2, "name": "Acme", "region": "West", "parent": 1},
            {"id": 3, "name": "Beta", "region": "East"},
        ])
        _insert(conn, schema.table("deal"), [
            {"id": 1, "name": "Acme rollout", "code": "A-1", "stage": "new", "amount": Decimal("100.50"),
             "score": 10, "close_date": dt.date(2026, 3, 1), "closed_at": dt.datetime(2026, 3, 1, 10, tzinfo=UTC),
             "hot": True, "tags": ["a", "b"], "data": {"k": 1}, "account": 2, "owner_id": 7,
             "double_amount": Decimal("201.00")},
            {"id": 2, "name": "Beta 100% deal", "code": "B_2", "stage": "won", "amount": Decimal("100.49"),
             "score": 20, "close_date": dt.date(2026, 3, 5),
             "closed_at": dt.datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC), "hot": False, "tags": ["b"],
             "account": 3, "owner_id": 8, "double_amount": Decimal("200.98")},
            {"id": 3, "name": "客户 扩容项目", "code": "C-3", "stage": "lost", "amount": Decimal("100.51"),
             "tags": [], "data": None, "owner_id": 7, "double_amount": Decimal("201.02")},
            {"id": 4, "name": "", "score": 30, "close_date": dt.date(2026, 2, 20),
             "closed_at": dt.datetime(2026, 3, 2, 0, 0, tzinfo=UTC), "hot": True},
            {"id": 5, "name": "Gamma", "stage": "new", "amount": Decimal("500"), "owner_id": 7,
             "deleted_at": NOW},
        ])
    return schema, database


def ids(env, filter_=None, params=PARAMS, **spec):
    schema, db = env
    if isinstance(filter_, dict):
        filter_ = _parse(schema, filter_)
    with db.begin() as conn:
        page = run_query(conn, schema, QuerySpec("deal", filter=filter_, fields=("id",), sort=("id",), **spec), params)
    return [row["id"] for row in page.rows]


def _parse(schema, data):
    from tessera.metadata.filters import parse_filter

    problems = []
    parsed = parse_filter(data, RegistryScope.of(schema.registry, "deal").filter_resolver,
                          lambda p, m, k: problems.append(m))
    assert problems == []
    return parsed


# ------------------------------------------------------------------------------ operators

def test_eq_and_in_match_the_values_and_never_blank_ones(env):
    assert ids(env, {"stage": "won"}) == [2]
    assert ids(env, {"stage__in": ["new", "lost"]}) == [1, 3]
    assert ids(env, {"score": 20}) == [2]
    assert ids(env, {"score__in": [10, 30]}) == [1, 4]


def test_ne_and_not_in_include_records_with_a_blank_value(env):
    assert ids(env, {"stage__ne": "won"}) == [1, 3, 4]
    assert ids(env, {"stage__not_in": ["new", "lost"]}) == [2, 4]
    assert ids(env, {"score__ne": 10}) == [2, 3, 4]


def test_a_not_group_keeps_records_whose_condition_is_unknown(env):
    assert ids(env, {"not": {"stage": "won"}}) == [1, 3, 4]
    assert ids(env, {"not": {"score__gt": 15}}) == [1, 3]


def test_and_or_groups_combine_conditions(env):
    assert ids(env, {"or": [{"stage": "won"}, {"score__gte": 30}]}) == [2, 4]
    assert ids(env, {"stage__in": ["new", "won"], "or": [{"score": 10}, {"score": 20}]}) == [1, 2]


def test_comparisons_skip_blank_values(env):
    assert ids(env, {"score__lt": 25}) == [1, 2]
    assert ids(env, {"score__lte": 20}) == [1, 2]
    assert ids(env, {"score__gt": 10}) == [2, 4]
    assert ids(env, {"name__gte": "B"}) == [2, 3]


def test_money_comparisons_are_exact_at_the_column_scale(env):
    assert ids(env, {"amount__gte": Decimal("100.50")}) == [1, 3]
    assert ids(env, {"amount": Decimal("100.5")}) == [1]
    assert ids(env, {"amount__lt": Decimal("100.50")}) == [2]
    assert ids(env, {"amount__in": [Decimal("100.49"), Decimal("100.51")]}) == [2, 3]


def test_values_with_more_decimals_than_the_column_keeps_are_not_rounded(env):
    assert ids(env, {"amount__gt": Decimal("100.505")}) == [3]
    assert ids(env, {"amount__lte": Decimal("100.505")}) == [1, 2]
    assert ids(env, {"amount": Decimal("100.501")}) == []
    assert ids(env, {"amount__ne": Decimal("100.501")}) == [1, 2, 3, 4]


def test_integer_fields_compare_with_fractional_values(env):
    assert ids(env, {"score__gt": Decimal("19.5")}) == [2, 4]
    assert ids(env, {"score__lte": Decimal("19.5")}) == [1]
    assert ids(env, {"score__in": [Decimal("10.0"), Decimal("20.5")]}) == [1]


def test_between_includes_both_ends(env):
    assert ids(env, {"amount__between": [Decimal("100.49"), Decimal("100.50")]}) == [1, 2]
    assert ids(env, {"close_date__between": ["2026-02-20", "2026-03-01"]}) == [1, 4]


def test_date_literals_and_today_come_from_the_query_params(env):
    assert ids(env, {"close_date": "2026-03-05"}) == [2]
    assert ids(env, {"close_date__gte": "$today"}) == [1, 2]
    assert ids(env, {"close_date__lt": "$today-5"}) == [4]
    assert ids(env, {"close_date__between": ["$today", "$today+4"]}) == [1, 2]
    later = QueryParams(user_id=7, today=dt.date(2026, 3, 5), now=NOW)
    assert ids(env, {"close_date": "$today"}, params=later) == [2]


def test_a_date_against_a_datetime_field_means_the_whole_day(env):
    assert ids(env, {"closed_at": "$today"}) == [1]
    assert ids(env, {"closed_at__lte": "2026-02-28"}) == [2]
    assert ids(env, {"closed_at__gt": "$today"}) == [4]
    assert ids(env, {"closed_at__lt": "$today"}) == [2]
    assert ids(env, {"closed_at__between": ["$today-1", "$today"]}) == [1, 2]
    assert ids(env, {"closed_at__ne": "$today"}) == [2, 3, 4]


def test_whole_days_are_taken_in_the_query_timezone(env):
    shanghai = QueryParams(user_id=7, today=dt.date(2026, 3, 1), now=NOW, timezone=ZoneInfo("Asia/Shanghai"))
    # 2026-02-28 23:59:59Z is 07:59:59 on 1 March in Shanghai; 2026-03-02 00:00Z is 08:00 on 2 March
    assert ids(env, {"closed_at": "2026-03-01"}, params=shanghai) == [1, 2]


def test_now_and_iso_date_times_compare_instants(env):
    assert ids(env, {"closed_at__lt": "$now"}) == [1, 2]
    assert ids(env, {"closed_at__gte": "2026-03-01T10:00:00Z"}) == [1, 4]
    assert ids(env, {"closed_at__gt": "2026-03-01T18:00:00+08:00"}) == [4]


def test_me_is_the_current_user(env):
    assert ids(env, {"owner_id": "$me"}) == [1, 3]
    assert ids(env, {"owner_id": "$me"}, params=QueryParams(user_id=8)) == [2]
    assert ids(env, {"owner_id__ne": "$me"}) == [2, 4]


def test_me_without_a_current_user_is_refused(env):
    with pytest.raises(QueryError) as caught:
        ids(env, {"owner_id": "$me"}, params=QueryParams())
    assert caught.value.errors == {"owner_id": "$me means the current user, and this query has none"}


def test_is_blank_matches_null_and_empty_text(env):
    assert ids(env, {"name__is_blank": True}) == [4]
    assert ids(env, {"code__is_blank": True}) == [4]
    assert ids(env, {"score__is_blank": True}) == [3]
    assert ids(env, {"close_date__is_blank": False}) == [1, 2, 4]
    assert ids(env, {"name__is_blank": False}) == [1, 2, 3]


def test_contains_and_starts_with_are_case_sensitive(env):
    assert ids(env, {"name__contains": "rollout"}) == [1]
    assert ids(env, {"name__contains": "ROLLOUT"}) == []
    assert ids(env, {"code__starts_with": "A-"}) == [1]
    assert ids(env, {"code__starts_with": "a-"}) == []


def test_wildcards_in_text_values_are_literal(env):
    assert ids(env, {"name__contains": "%"}) == [2]
    assert ids(env, {"code__contains": "_"}) == [2]
    assert ids(env, {"code__starts_with": "_"}) == []
    assert ids(env, {"code__icontains": "a_1"}) == []
    assert ids(env, {"name__icontains": "100%"}) == [2]


def test_icontains_ignores_case_and_finds_chinese_text(env):
    assert ids(env, {"name__icontains": "ACME"}) == [1]
    assert ids(env, {"name__icontains": "扩容"}) == [3]


def test_icontains_folds_non_ascii_case_on_postgresql_only(env):
    schema, db = env
    with db.begin() as conn:
        conn.execute(schema.table("deal").update().where(schema.table("deal").c.id == 4).values(name="Ärger"))
    assert ids(env, {"name__icontains": "Ärger"}) == [4]
    # documented: SQLite's lower() folds ASCII letters only
    assert ids(env, {"name__icontains": "äRGER"}) == ([4] if db.dialect == "postgresql" else [])


def test_an_unset_checkbox_counts_as_unchecked(env):
    assert ids(env, {"hot": True}) == [1, 4]
    assert ids(env, {"hot": False}) == [2, 3]
    assert ids(env, {"hot__ne": True}) == [2, 3]
    assert ids(env, {"hot__ne": False}) == [1, 4]


def test_multi_picklist_includes_excludes_and_blank(env):
    assert ids(env, {"tags__includes": "b"}) == [1, 2]
    assert ids(env, {"tags__excludes": "a"}) == [2, 3, 4]
    assert ids(env, {"tags__is_blank": True}) == [3, 4]
    assert ids(env, {"tags__is_blank": False}) == [1, 2]


def test_multi_picklist_eq_and_in_mean_includes(env):
    assert ids(env, {"tags": "a"}) == [1]
    assert ids(env, {"tags__in": ["a", "c"]}) == [1]
    assert ids(env, {"tags__not_in": ["a"]}) == [2, 3, 4]


def test_json_fields_filter_on_blank_only(env):
    assert ids(env, {"data__is_blank": False}) == [1]
    schema, _db = env
    with pytest.raises(QueryError, match=r"data: operator 'eq' does not apply to data \(json\)"):
        ids(env, Condition(("data",), "eq", "x"))


def test_lookup_paths_filter_through_joins(env):
    assert ids(env, {"account.region": "East"}) == [2]
    assert ids(env, {"account.parent.region": "East"}) == [1]
    assert ids(env, {"account.region__ne": "East"}) == [1, 3, 4]
    assert ids(env, {"account": 2}) == [1]
    assert ids(env, {"account__is_blank": True}) == [3, 4]


def test_a_stored_formula_filters_like_any_column(env):
    assert ids(env, {"double_amount__gt": Decimal("201")}) == [3]


def test_a_formula_computed_when_read_cannot_be_filtered(env):
    with pytest.raises(QueryError) as caught:
        ids(env, Condition(("account_label",), "eq", "Acme"))
    assert "account_label" in caught.value.errors
    assert "computed when read" in str(caught.value)


def test_an_unknown_field_in_a_filter_names_the_closest(env):
    with pytest.raises(QueryError) as caught:
        ids(env, Group("and", (Condition(("stgae",), "eq", "won"), Condition(("account", "regoin"), "eq", "East"))))
    assert caught.value.errors == {
        "stgae": "unknown field 'stgae' (did you mean 'stage'?)",
        "account.regoin": "unknown field 'regoin' on account (did you mean 'region'?)",
    }


def test_a_value_of_the_wrong_type_is_refused_by_parameter(env):
    with pytest.raises(QueryError) as caught:
        ids(env, Group("and", (Condition(("score",), "gte", "many"), Condition(("close_date",), "lt", "soon"))))
    assert caught.value.errors["score__gte"] == "expected a number, got 'many'"
    assert caught.value.errors["close_date__lt"].startswith("expected a date like 2026-01-31")


def test_filters_from_the_query_string_run(env):
    schema, _db = env
    scope = RegistryScope.of(schema.registry, "deal")
    parsed = parse_query_filters(scope, [("amount__gte", "100.50"), ("account.parent.region", "East")])
    assert ids(env, parsed) == [1]
    parsed = parse_query_filters(scope, [("stage__in", "new,won"), ("hot", "false")])
    assert ids(env, parsed) == [2]


# ------------------------------------------------------------------------------ search, deleted

def test_search_finds_every_word_in_the_search_fields_ignoring_case(env):
    assert ids(env, search="acme") == [1]
    assert ids(env, search="ROLLOUT  acme") == [1]
    assert ids(env, search="c-3") == [3]
    assert ids(env, search="acme beta") == []


def test_search_finds_chinese_text_and_treats_wildcards_literally(env):
    assert ids(env, search="扩容") == [3]
    assert ids(env, search="100%") == [2]
    assert ids(env, search="a_1") == []
    assert ids(env, search="b_2") == [2]
    assert ids(env, search="   ") == [1, 2, 3, 4]


def test_soft_deleted_records_are_left_out_unless_asked_for(env):
    assert ids(env, {"stage": "new"}) == [1]
    assert ids(env, {"stage": "new"}, include_deleted=True) == [1, 5]


# ------------------------------------------------------------------------------ fields and joins

@pytest.fixture
def statements(env):
    _schema, db = env
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(db.engine, "before_cursor_execute", record)


def test_fields_through_lookups_are_read_in_one_statement(env, statements):
    schema, db = env
    spec = QuerySpec("deal", fields=("name", "amount", "account.name", "account.parent.name", "tags", "close_date"),
                     filter=_parse(schema, {"account.region__in": ["East", "West"]}),
                     sort=("-account.name", "account.parent.name"))
    with db.begin() as conn:
        page = run_query(conn, schema, spec, PARAMS)
    assert len(statements) == 1
    assert statements[0].upper().count("LEFT OUTER JOIN") == 2  # account, account.parent: shared by all
    assert page.rows == [
        {"id": 2, "name": "Beta 100% deal", "amount": Decimal("100.49"), "account.name": "Beta",
         "account.parent.name": None, "tags": ["b"], "close_date": dt.date(2026, 3, 5)},
        {"id": 1, "name": "Acme rollout", "amount": Decimal("100.50"), "account.name": "Acme",
         "account.parent.name": "Holding", "tags": ["a", "b"], "close_date": dt.date(2026, 3, 1)},
    ]


def test_rows_carry_python_values_of_every_type(env):
    schema, db = env
    with db.begin() as conn:
        page = run_query(conn, schema, QuerySpec("deal", filter=_parse(schema, {"score": 10})), PARAMS)
    row = page.rows[0]
    assert row["amount"] == Decimal("100.50") and isinstance(row["amount"], Decimal)
    assert row["closed_at"] == dt.datetime(2026, 3, 1, 10, tzinfo=UTC) and row["closed_at"].tzinfo is not None
    assert row["hot"] is True
    assert row["tags"] == ["a", "b"]
    assert row["data"] == {"k": 1}
    assert row["created_at"] == NOW


def test_formulas_computed_when_read_are_skipped_and_listed(env):
    schema, db = env
    with db.begin() as conn:
        chosen = run_query(conn, schema, QuerySpec("deal", fields=("name", "account_label", "double_amount")), PARAMS)
        every = run_query(conn, schema, QuerySpec("deal"), PARAMS)
    assert chosen.skipped == ("account_label",)
    assert set(chosen.rows[0]) == {"id", "name", "double_amount"}
    assert every.skipped == ("account_label",)
    assert "account_label" not in every.rows[0] and "stage" in every.rows[0]


def test_problems_in_fields_sort_and_filter_are_reported_at_once(env):
    schema, db = env
    spec = QuerySpec("deal", fields=("nmae",), sort=("-amuont",), filter=Condition(("stage",), "eq", None), limit=0)
    with db.begin() as conn, pytest.raises(QueryError) as caught:
        run_query(conn, schema, spec, PARAMS)
    assert caught.value.errors == {
        "fields": "unknown field 'nmae' (did you mean 'name'?)",
        "sort": "unknown field 'amuont' (did you mean 'amount'?)",
        "stage": "use __is_blank: true to find blank values",
        "limit": "expected a whole number from 1 to 1000, got 0",
    }


def test_an_unknown_object_names_the_closest(env):
    schema, db = env
    with db.begin() as conn, pytest.raises(QueryError, match="unknown object 'deals' \\(did you mean 'deal'\\?\\)"):
        run_query(conn, schema, QuerySpec("deals"), PARAMS)


# ------------------------------------------------------------------------------ counts

def test_count_is_exact_up_to_the_cap_and_says_more_beyond_it(env):
    schema, db = env
    with db.begin() as conn:
        assert count(conn, schema, QuerySpec("deal"), cap=10) == Count(4, exact=True)
        assert count(conn, schema, QuerySpec("deal"), cap=4) == Count(4, exact=True)
        assert count(conn, schema, QuerySpec("deal"), cap=3) == Count(3, exact=False)
        assert str(count(conn, schema, QuerySpec("deal"), cap=3)) == "3+"
        assert count(conn, schema, QuerySpec("deal", filter=_parse(schema, {"account.region": "East"}))) == Count(1)
        assert count(conn, schema, QuerySpec("deal", search="acme"), cap=10) == Count(1)
        assert count(conn, schema, QuerySpec("deal", include_deleted=True), cap=10) == Count(5)


def test_postgresql_reports_the_planner_estimate_for_a_large_unfiltered_count(env):
    schema, db = env
    if not db.dialect == "postgresql":
        pytest.skip("the planner estimate is PostgreSQL's")
    table = schema.table("account")
    with db.begin() as conn:
        conn.execute(table.insert(), [{"id": 100 + i, "name": f"n{i}", "created_at": NOW, "updated_at": NOW}
                                    for i in range(200)])
        conn.exec_driver_sql(f"ANALYZE {conn.dialect.identifier_preparer.format_table(table)}")
        estimated = count(conn, schema, QuerySpec("account"), cap=50)
        filtered = count(conn, schema, QuerySpec("account", search="n1"), cap=50)
    assert estimated == Count(203, exact=False, estimated=True)
    assert str(estimated) == "~203"
    assert filtered == Count(50, exact=False)  # a filtered count never guesses


# ------------------------------------------------------------------------------ bundled metadata

@pytest.fixture(scope="module")
def l2c():
    return build_org_registry(["l2c"])


def test_every_bundled_list_view_compiles_and_runs(l2c, database):
    registry = l2c
    schema = StorageSchema(registry, database)
    schema.metadata.create_all(database.engine)
    ran = 0
    with database.begin() as conn:
        for obj in registry.objects.values():
            for view in obj.list_views.values():
                spec = QuerySpec(obj.name, filter=view.filter, sort=view.sort or (), fields=view.columns)
                assert run_query(conn, schema, spec, PARAMS).rows == []
                ran += 1
    assert ran > 0


def test_the_sql_binds_values_as_parameters(env):
    schema, db = env
    spec = QuerySpec("deal", filter=_parse(schema, {"name__contains": "x'; drop table deal; --"}))
    sql = str(plan_query(schema, spec, PARAMS).statement.compile(dialect=db.engine.dialect))
    assert "drop table" not in sql


# ------------------------------------------------------------------------------ reused plans

def test_a_reused_plan_follows_today_me_and_the_time_zone_of_each_call(env):
    yesterday = QueryParams(user_id=7, today=dt.date(2026, 3, 4), now=NOW)
    today = QueryParams(user_id=7, today=dt.date(2026, 3, 5), now=NOW)
    assert ids(env, {"close_date": "$today"}, params=yesterday) == []
    assert ids(env, {"close_date": "$today"}, params=today) == [2]
    assert ids(env, {"owner_id": "$me"}, params=QueryParams(user_id=8, today=PARAMS.today, now=NOW)) == [2]
    assert ids(env, {"owner_id": "$me"}, params=QueryParams(user_id=7, today=PARAMS.today, now=NOW)) == [1, 3]
    # 23:59:59 UTC on 28 Feb is already 1 March in Shanghai
    shanghai = QueryParams(user_id=7, today=PARAMS.today, now=NOW, timezone=ZoneInfo("Asia/Shanghai"))
    assert ids(env, {"closed_at": "2026-02-28"}) == [2]
    assert ids(env, {"closed_at": "2026-02-28"}, params=shanghai) == []


def test_a_filter_on_now_is_planned_at_each_call(env):
    before = QueryParams(user_id=7, today=PARAMS.today, now=dt.datetime(2026, 3, 1, 9, tzinfo=UTC))
    after = QueryParams(user_id=7, today=PARAMS.today, now=dt.datetime(2026, 3, 1, 11, tzinfo=UTC))
    assert ids(env, {"closed_at__lte": "$now"}, params=before) == [2]
    assert ids(env, {"closed_at__lte": "$now"}, params=after) == [1, 2]


def test_a_reused_plan_pages_on_with_each_cursor(env):
    schema, db = env
    seen, cursor = [], None
    with db.begin() as conn:
        for _ in range(5):
            page = run_query(conn, schema, QuerySpec("deal", fields=("id",), sort=("-id",), limit=1, cursor=cursor),
                             PARAMS)
            seen += [row["id"] for row in page.rows]
            cursor = page.next_cursor
            if cursor is None:
                break
    assert seen == [4, 3, 2, 1]


def test_hidden_fields_give_a_plan_of_their_own(env):
    schema, db = env
    with db.begin() as conn:
        everything = run_query(conn, schema, QuerySpec("deal", sort=("id",)), PARAMS).rows[0]
        hidden = run_query(conn, schema, QuerySpec("deal", sort=("id",), hidden={"deal": frozenset({"amount"})}),
                           PARAMS).rows[0]
    assert "amount" in everything and "amount" not in hidden


def test_searching_an_object_named_by_a_lookup_searches_the_target_name(env):
    schema, db = env
    with db.begin() as conn:
        _insert(conn, schema.table("deal_role"), [{"id": 1, "deal": 1, "role": "buyer"},
                                                  {"id": 2, "deal": 2, "role": "user"}])
        page = run_query(conn, schema, QuerySpec("deal_role", search="rollout", fields=("id",)), PARAMS)
        counted = count(conn, schema, QuerySpec("deal_role", search="rollout"), params=PARAMS)
    assert [row["id"] for row in page.rows] == [1] and counted.value == 1
