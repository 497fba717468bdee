"""The API's query-string filters: ``?status=new&score__gte=50&owner.region=East&stage__in=a,b``
and a JSON ``filter`` parameter, converted to the field types, with errors per parameter."""

from __future__ import annotations

import textwrap
from decimal import Decimal

import pytest

from tessera.metadata.filters import Condition, Group, QueryError, combine, parse_query_filters
from tessera.metadata.registry import build_org_registry
from tessera.metadata.scope import RegistryScope

REGION = """
name: region
label: {en: Region, zh-CN: 区域}
plural_label: {en: Regions, zh-CN: 区域}
fields:
  name: {type: text, label: {en: Name, zh-CN: 名称}}
"""

OWNER = """
name: owner
label: {en: Owner, zh-CN: 负责人}
plural_label: {en: Owners, zh-CN: 负责人}
fields:
  name: {type: text, label: {en: Name, zh-CN: 名称}}
  region: {type: lookup, target: region, related_name: owners, label: {en: Region, zh-CN: 区域}}
"""

LEAD = """
name: lead
label: {en: Lead, zh-CN: 线索}
plural_label: {en: Leads, zh-CN: 线索}
fields:
  name: {type: text, label: {en: Name, zh-CN: 名称}}
  status:
    type: picklist
    label: {en: Status, zh-CN: 状态}
    options:
      - {value: new, label: {en: New, zh-CN: 新建}}
      - {value: working, label: {en: Working, zh-CN: 跟进中}}
  score: {type: integer, label: {en: Score, zh-CN: 评分}}
  budget: {type: currency, label: {en: Budget, zh-CN: 预算}}
  hot: {type: boolean, label: {en: Hot, zh-CN: 重点}}
  due: {type: date, label: {en: Due, zh-CN: 到期}}
  seen_at: {type: datetime, label: {en: Seen at, zh-CN: 查看时间}}
  tags:
    type: multi_picklist
    label: {en: Tags, zh-CN: 标签}
    options:
      - {value: vip, label: {en: VIP, zh-CN: 贵宾}}
  extra: {type: json, label: {en: Extra, zh-CN: 附加}}
  owner: {type: lookup, target: owner, related_name: leads, label: {en: Owner, zh-CN: 负责人}}
  owner_name: {type: formula, result: text, expression: "owner.name", label: {en: Owner name, zh-CN: 负责人姓名}}
"""


@pytest.fixture(scope="module")
def scope(tmp_path_factory):
    root = tmp_path_factory.mktemp("params")
    package = root / "params"
    (package / "objects").mkdir(parents=True)
    (package / "package.yaml").write_text("name: params\nversion: 1.0.0\nlabel: {en: params, zh-CN: params}\n")
    for name, text in (("region", REGION), ("owner", OWNER), ("lead", LEAD)):
        (package / "objects" / f"{name}.yaml").write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return RegistryScope.of(build_org_registry(["params"], search_paths=[root]), "lead")


def _errors(scope, items) -> dict[str, str]:
    with pytest.raises(QueryError) as caught:
        parse_query_filters(scope, items)
    return caught.value.errors


def test_plain_parameters_become_conditions_of_the_field_type(scope):
    parsed = parse_query_filters(scope, [
        ("status", "new"), ("score__gte", "50"), ("budget__lt", "100.50"), ("hot", "true"),
        ("due__lte", "2026-01-31"), ("seen_at__gte", "2026-01-31T09:30:00Z"), ("owner.region.name", "East"),
        ("status__in", "new, working"), ("score__between", "1,9"), ("tags__includes", "vip"),
        ("owner", "12"), ("name__is_blank", "false"),
    ])
    assert parsed == Group("and", (
        Condition(("status",), "eq", "new"),
        Condition(("score",), "gte", 50),
        Condition(("budget",), "lt", Decimal("100.50")),
        Condition(("hot",), "eq", True),
        Condition(("due",), "lte", "2026-01-31"),
        Condition(("seen_at",), "gte", "2026-01-31T09:30:00Z"),
        Condition(("owner", "region", "name"), "eq", "East"),
        Condition(("status",), "in", ["new", "working"]),
        Condition(("score",), "between", [1, 9]),
        Condition(("tags",), "includes", "vip"),
        Condition(("owner",), "eq", 12),
        Condition(("name",), "is_blank", False),
    ))
    assert isinstance(parsed.items[1].value, int)


def test_special_values_pass_through_for_the_compiler(scope):
    parsed = parse_query_filters(scope, [("due__gte", "$today-7"), ("seen_at__lt", "$now")])
    assert parsed == Group("and", (Condition(("due",), "gte", "$today-7"), Condition(("seen_at",), "lt", "$now")))


def test_a_single_parameter_is_a_single_condition_and_none_is_no_filter(scope):
    assert parse_query_filters(scope, [("hot", "FALSE")]) == Condition(("hot",), "eq", False)
    assert parse_query_filters(scope, []) is None


def test_repeated_parameters_must_all_hold(scope):
    parsed = parse_query_filters(scope, [("score__gte", "10"), ("score__gte", "20")])
    assert parsed == Group("and", (Condition(("score",), "gte", 10), Condition(("score",), "gte", 20)))


def test_the_api_parameters_are_ignored(scope):
    parsed = parse_query_filters(scope, [("limit", "5"), ("sort", "-score"), ("status", "new")],
                                 ignore={"limit", "sort"})
    assert parsed == Condition(("status",), "eq", "new")


def test_every_bad_value_is_named_with_what_was_expected(scope):
    assert _errors(scope, [
        ("score__gte", "lots"), ("budget", "1,5"), ("hot", "maybe"), ("due", "31/01/2026"),
        ("seen_at__lt", "yesterday"), ("status", "closed"), ("score__between", "5"), ("owner", "Ann"),
        ("name__is_blank", "perhaps"), ("status__in", "new,,working"), ("budget__gt", "NaN"),
    ]) == {
        "score__gte": "expected a number, got 'lots'",
        "budget": "expected a number, got '1,5'",
        "hot": "expected true or false, got 'maybe'",
        "due": "expected a date like 2026-01-31, $today, $today+N or $today-N, got '31/01/2026'",
        "seen_at__lt": "expected a date like 2026-01-31, a date-time like 2026-01-31T09:30:00Z, "
                       "$today, $today+N, $today-N or $now, got 'yesterday'",
        "status": "'closed' is not one of the options (new, working)",
        "score__between": "expected two comma-separated values low,high, got '5'",
        "owner": "expected a record id (a whole number) or $me, got 'Ann'",
        "name__is_blank": "expected true or false, got 'perhaps'",
        "status__in": "expected comma-separated values without blanks, got 'new,,working'",
        "budget__gt": "expected a number, got 'NaN'",
    }


def test_the_error_text_names_each_parameter(scope):
    with pytest.raises(QueryError) as caught:
        parse_query_filters(scope, [("score__gte", "lots"), ("hot", "maybe")])
    assert str(caught.value) == "score__gte: expected a number, got 'lots'; hot: expected true or false, got 'maybe'"
    assert isinstance(caught.value, ValueError)


def test_unknown_fields_and_operators_suggest_the_closest(scope):
    assert _errors(scope, [("stauts", "new"), ("owner.nmae", "x"), ("score__gtee", "1"), ("name.first", "x")]) == {
        "stauts": "unknown field 'stauts' (did you mean 'status'?)",
        "owner.nmae": "unknown field 'nmae' on owner (did you mean 'name'?)",
        "score__gtee": "unknown filter operator 'gtee' (did you mean 'gte'?); use one of eq, ne, in, not_in, "
                       "is_blank, lt, lte, gt, gte, between, contains, icontains, starts_with, includes, excludes",
        "name.first": "'name' is not a lookup, so '.first' cannot follow it",
    }


def test_operators_that_do_not_fit_the_field_are_refused(scope):
    assert _errors(scope, [("hot__gt", "true"), ("status__includes", "new"), ("extra", "x")]) == {
        "hot__gt": "operator 'gt' does not apply to hot (boolean)",
        "status__includes": "operator 'includes' does not apply to status (text)",
        "extra": "operator 'eq' does not apply to extra (json)",
    }


def test_special_values_must_fit_the_field(scope):
    assert _errors(scope, [("score", "$me"), ("due", "$now"), ("hot", "$yesterday")]) == {
        "score": "$me (the current user) only fits a user lookup such as owner_id",
        "due": "$now only fits a date-time field",
        "hot": "unknown value '$yesterday'; the special values are $me, $today, $today+N, $today-N and $now",
    }


def test_a_formula_computed_when_read_cannot_be_filtered(scope):
    assert _errors(scope, [("owner_name", "Ann")]) == {
        "owner_name": "'owner_name' is a formula computed when read (it reads lookups or TODAY/NOW), "
                      "so it cannot be filtered on",
    }


def test_the_json_filter_parameter_takes_groups(scope):
    parsed = parse_query_filters(scope, [
        ("status", "new"),
        ("filter", '{"or": [{"score__gte": 50}, {"budget__gt": 10.5, "owner.region.name": "East"}]}'),
    ])
    assert parsed == Group("and", (
        Condition(("status",), "eq", "new"),
        Group("or", (
            Condition(("score",), "gte", 50),
            Group("and", (Condition(("budget",), "gt", Decimal("10.5")),
                          Condition(("owner", "region", "name"), "eq", "East"))),
        )),
    ))


def test_problems_in_the_json_filter_say_where(scope):
    assert _errors(scope, [("filter", '{"or": [{"score__gte": "x"}, {"stauts": "new"}]}')]) == {
        "filter": "or.0.score__gte: expected a number, got 'x'; "
                  "or.1.stauts: unknown field 'stauts' (did you mean 'status'?)",
    }
    assert _errors(scope, [("filter", "{or: []}")])["filter"].startswith(
        "expected a JSON filter such as {\"or\": [{\"status\": \"new\"}]}")
    assert _errors(scope, [("filter", '{"owner_name": "Ann"}')]) == {
        "filter": "'owner_name' is a formula computed when read (it reads lookups or TODAY/NOW), "
                  "so it cannot be filtered on",
    }


def test_combine_joins_filters_from_several_places(scope):
    view = Condition(("status",), "eq", "new")
    asked = Condition(("hot",), "eq", True)
    assert combine(None, view, None, asked) == Group("and", (view, asked))
    assert combine(view) is view
    assert combine(None) is None
