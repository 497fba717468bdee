"""Reading YAML/JSON while keeping positions, and YAML 1.2 scalars."""

from __future__ import annotations

from decimal import Decimal

from tessera.metadata.errors import Problems
from tessera.metadata.loader import load_text


def load(text: str, *, is_json: bool = False):
    problems = Problems()
    doc = load_text(text, "doc.yaml", problems, is_json=is_json)
    return doc, list(problems)


def test_yes_no_and_dates_stay_text_under_yaml_1_2():
    doc, problems = load("a: yes\nb: off\nc: 2026-01-31\nd: true\n")
    assert problems == []
    assert doc.data == {"a": "yes", "b": "off", "c": "2026-01-31", "d": True}


def test_fractions_load_as_exact_decimals():
    doc, _ = load("rate: 0.1\ncount: 3\n")
    assert doc.data["rate"] == Decimal("0.1")
    assert isinstance(doc.data["count"], int)


def test_every_key_and_value_keeps_its_line_and_column():
    doc, _ = load("fields:\n  amount:\n    type: currency\n    options: [a, b]\n")
    assert (doc.key_marks[("fields", "amount")].line, doc.key_marks[("fields", "amount")].column) == (2, 3)
    assert (doc.value_marks[("fields", "amount", "type")].line,
            doc.value_marks[("fields", "amount", "type")].column) == (3, 11)
    assert doc.value_marks[("fields", "amount", "options", 1)].column == 18  # "    options: [a, b]"


def test_a_missing_path_is_located_at_its_nearest_parent_key():
    doc, _ = load("fields:\n  amount:\n    type: currency\n")
    assert doc.location(("fields", "amount", "scale")).line == 2


def test_duplicate_keys_are_reported_with_both_lines():
    doc, problems = load("name: a\nlabel: x\nname: b\n")
    assert doc is None
    assert [(p.location.line, p.message) for p in problems] == [(3, "duplicate key 'name' (first given at line 1)")]


def test_tab_indentation_is_named_as_the_problem():
    _, problems = load("a:\n\tb: 1\n")
    assert (problems[0].location.line, problems[0].location.column) == (2, 1)
    assert "tab character" in problems[0].message


def test_several_documents_in_one_file_are_refused():
    _, problems = load("a: 1\n---\nb: 2\n")
    assert "one document per file" in problems[0].message


def test_json_syntax_errors_come_from_the_json_parser_with_its_position():
    _, problems = load('{\n  "a": 1,\n}', is_json=True)
    assert (problems[0].location.line, problems[0].location.column) == (3, 1)
    assert problems[0].message.startswith("invalid JSON")


def test_json_documents_keep_positions_too():
    doc, _ = load('{\n  "name": "lead",\n  "fields": {"a": {"type": "text"}}\n}', is_json=True)
    assert doc.value_marks[("fields", "a", "type")].line == 3


def test_expression_offsets_map_into_plain_quoted_block_and_folded_scalars():
    doc, _ = load('a: IF(x, y)\nb: "IF(\\"q\\", y)"\nc: |\n  AND(x,\n      y)\nd: AND(xx,\n  yy)\ne: >\n  AND(xx,\n  yy)\n')
    assert str(doc.expression_location(("a",), 3)) == "doc.yaml:1:7"    # x
    assert str(doc.expression_location(("b",), 4)) == "doc.yaml:2:10"   # q, after an escaped quote
    assert str(doc.expression_location(("c",), 11)) == "doc.yaml:5:7"   # y, block indent stripped
    assert str(doc.expression_location(("d",), 9)) == "doc.yaml:7:4"    # plain scalar folded onto two lines
    assert str(doc.expression_location(("e",), 9)) == "doc.yaml:10:4"   # folded block
