"""Reading fields: coercion of record values, lookup paths through nested mappings and
the resolver, references, and prior values (ISCHANGED / PRIORVALUE)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from tessera.expressions import (
    EvalContext,
    FormulaEvaluationError,
    FormulaSyntaxError,
    compile_expression,
)

UTC = timezone.utc


# ---------------------------------------------------------------- coercion
@pytest.mark.parametrize(
    ("raw", "expected"),
    [(5, Decimal(5)), (2.5, Decimal("2.5")), (Decimal("1.10"), Decimal("1.10")),
     ("12.5", Decimal("12.5")), ("", None), (None, None)],
)  # fmt: skip
def test_number_fields_are_coerced_to_decimal(run, raw, expected):
    result = run("amount", {"amount": raw})
    assert result == expected
    assert result is None or type(result) is Decimal


def test_non_numeric_value_in_number_field_is_an_evaluation_error(fails):
    err = fails("1 + amount", {"amount": "lots"}, error=FormulaEvaluationError)
    assert err.message == "field 'amount' holds 'lots', which is not a number"
    assert err.column == 5


def test_booleans_are_not_numbers(fails):
    err = fails("amount", {"amount": True}, error=FormulaEvaluationError)
    assert err.message == "field 'amount' holds True, which is not a number"


def test_date_fields_accept_iso_text_and_datetimes(run):
    assert run("close_date", {"close_date": "2024-02-03"}) == date(2024, 2, 3)
    moment = datetime(2024, 2, 3, 4, 5, tzinfo=UTC)
    assert run("close_date", {"close_date": moment}) == date(2024, 2, 3)


def test_naive_datetimes_are_taken_as_utc(run):
    result = run("created_at", {"created_at": datetime(2024, 1, 1, 9, 0)})
    assert result == datetime(2024, 1, 1, 9, 0, tzinfo=UTC)


def test_multi_select_values_become_tuples(run):
    assert run("tags", {"tags": ["a", "b"]}) == ("a", "b")


# ---------------------------------------------------------------- lookup paths
def test_path_through_nested_mappings(run):
    values = {"account": {"id": 7, "industry": "Retail", "parent": {"id": 1, "name": "Holding"}}}
    assert run("account.industry", values) == "Retail"
    assert run("account.parent.name", values) == "Holding"
    assert run("account", values) == 7
    assert run("account.parent", values) == 1


def test_null_anywhere_on_the_path_gives_null(run):
    assert run("account.parent.name", {"account": None}) is None
    assert run("account.parent.name", {"account": {"parent": None}}) is None
    assert run("account.parent.name", {}) is None


def test_path_through_an_id_uses_the_resolver(run):
    calls = []

    def resolver(path):
        calls.append(path)
        return {"account.industry": "Energy", "account.parent.name": "Group"}[".".join(path)]

    values = {"account": 7}
    assert run("account.industry & '/' & account.parent.name", values, resolver=resolver) == (
        "Energy/Group"
    )
    assert calls == [("account", "industry"), ("account", "parent", "name")]


def test_resolver_is_used_part_way_down_a_path(run):
    values = {"account": {"id": 7, "parent": 3}}
    assert run("account.parent.name", values, resolver=lambda path: "P") == "P"


def test_resolver_values_are_coerced(run):
    assert run("account.annual_revenue * 2", {"account": 7}, resolver=lambda p: 2.5) == Decimal(5)


def test_path_through_an_id_without_resolver_is_an_error(fails):
    err = fails("name & account.industry", {"account": 7}, error=FormulaEvaluationError)
    assert err.message == "cannot read 'account.industry': the related record is not loaded"
    assert err.column == 8


def test_resolver_failures_become_formula_errors(fails):
    def resolver(path):
        raise KeyError("boom")

    err = fails("account.name", {"account": 7}, resolver=resolver, error=FormulaEvaluationError)
    assert err.message == "cannot read 'account.name': 'boom'"
    assert isinstance(err.__cause__, KeyError)


# ---------------------------------------------------------------- references
def test_references_list_every_field_path_read(scope):
    compiled = compile_expression(
        "IF(ISCHANGED(stage), account.parent.name, PRIORVALUE(name)) & TEXT(amount)", scope
    )
    assert compiled.references == frozenset(
        {("stage",), ("account", "parent", "name"), ("name",), ("amount",)}
    )


def test_references_of_a_constant_formula_are_empty(scope):
    assert compile_expression("1 + 2", scope).references == frozenset()


def test_uses_prior(scope):
    assert compile_expression("ISCHANGED(stage)", scope).uses_prior is True
    assert compile_expression("PRIORVALUE(amount) > 1", scope).uses_prior is True
    assert compile_expression("stage = 'won'", scope).uses_prior is False


# ---------------------------------------------------------------- prior values
def test_ischanged_compares_with_the_prior_value(run):
    assert run("ISCHANGED(stage)", {"stage": "won"}, prior={"stage": "open"}) is True
    assert run("ISCHANGED(stage)", {"stage": "won"}, prior={"stage": "won"}) is False


def test_ischanged_treats_blanks_as_equal(run):
    assert run("ISCHANGED(stage)", {"stage": ""}, prior={"stage": None}) is False
    assert run("ISCHANGED(stage)", {"stage": "x"}, prior={}) is True


def test_ischanged_compares_coerced_values(run):
    assert run("ISCHANGED(amount)", {"amount": 5}, prior={"amount": Decimal("5.00")}) is False
    assert run("ISCHANGED(amount)", {"amount": 5}, prior={"amount": 6}) is True


def test_ischanged_ignores_multi_select_order(run):
    prior = {"tags": ["b", "a"]}
    assert run("ISCHANGED(tags)", {"tags": ["a", "b"]}, prior=prior) is False
    assert run("ISCHANGED(tags)", {"tags": ["a"]}, prior=prior) is True


def test_ischanged_on_a_new_record_is_true_when_not_blank(run):
    assert run("ISCHANGED(stage)", {"stage": "open"}, prior=None) is True
    assert run("ISCHANGED(stage)", {"stage": None}, prior=None) is False
    assert run("ISCHANGED(amount)", {"amount": 0}, prior=None) is True


def test_priorvalue_reads_the_prior_record(run):
    assert run("PRIORVALUE(amount)", {"amount": 10}, prior={"amount": 7}) == Decimal(7)
    assert run("amount - PRIORVALUE(amount)", {"amount": 10}, prior={"amount": 7}) == Decimal(3)


def test_priorvalue_on_a_new_record_is_null(run):
    assert run("PRIORVALUE(amount)", {"amount": 10}, prior=None) is None
    assert run("ISBLANK(PRIORVALUE(stage))", {"stage": "x"}) is True


def test_priorvalue_of_a_lookup_id(run):
    assert run("PRIORVALUE(account)", {"account": 2}, prior={"account": {"id": 1}}) == 1


def test_evaluation_context_rejects_naive_now():
    with pytest.raises(ValueError):
        EvalContext({}, now=datetime(2024, 1, 1))


def test_field_names_are_lowercase_identifiers(fails):
    err = fails("amount.é", error=FormulaSyntaxError)
    assert err.message == "a field name must follow '.'"
