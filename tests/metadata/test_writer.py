"""Metadata written back out (metadata/writer.py): YAML that reads back as the same data, the
same bytes every time, keys in the order people write them; JSON text with exact decimals."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from tessera.fieldtypes import default_field_types
from tessera.metadata.errors import Problems
from tessera.metadata.loader import load_file, load_text
from tessera.metadata.packages import KIND_FOLDERS
from tessera.metadata.schema import SchemaSet
from tessera.metadata.writer import (
    KeyOrder,
    ValueProblem,
    dumps_json,
    loads_json,
    normalize,
    render_document,
    render_yaml,
)
from tessera.paths import bundled_path

ORDER = KeyOrder(SchemaSet(default_field_types()).schemas)
BUNDLED = sorted(p for p in bundled_path("metadata").rglob("*.yaml") if p.name != "package.yaml")


def read_back(text: str):
    problems = Problems()
    doc = load_text(text, "written.yaml", problems)
    assert not problems, [str(p) for p in problems]
    return doc.data


def test_every_bundled_document_reads_back_as_the_same_data_and_writes_the_same_bytes():
    assert len(BUNDLED) > 50
    for path in BUNDLED:
        kind = KIND_FOLDERS[path.parent.name]
        data = load_file(path, Problems()).data
        name = data.get("name", path.stem)
        text = render_document(name, data, kind, ORDER)
        expected = {"name": name, **{k: v for k, v in data.items() if k not in ("kind", "name")}}
        assert read_back(text) == expected, path
        stored = loads_json(dumps_json(read_back(text)))  # through the database and back
        assert render_document(name, stored, kind, ORDER) == text, path


def test_keys_follow_the_schema_order_and_names_keep_theirs():
    data = {
        "fields": {"zeta": {"label": {"zh-CN": "Z", "en": "Z"}, "max_length": 9, "type": "text"},
                   "alpha": {"type": "integer", "label": {"en": "A", "zh-CN": "A"}}},
        "plural_label": {"en": "Things", "zh-CN": "东西"},
        "label": {"zh-CN": "东西", "en": "Thing"},
        "validations": [{"message": {"en": "Too big", "zh-CN": "太大"}, "condition": "alpha > 1", "name": "small"}],
    }
    text = render_document("thing", data, "object", ORDER)
    assert text == (
        "name: thing\n"
        "label: {en: Thing, zh-CN: 东西}\n"
        "plural_label: {en: Things, zh-CN: 东西}\n"
        "fields:\n"
        "  zeta: {type: text, label: {en: Z, zh-CN: Z}, max_length: 9}\n"   # fields keep their order
        "  alpha: {type: integer, label: {en: A, zh-CN: A}}\n"
        "validations:\n"
        "  - {name: small, condition: alpha > 1, message: {en: Too big, zh-CN: 太大}}\n"
    )


def test_filters_keep_the_order_they_were_written_in():
    data = {"label": {"en": "R", "zh-CN": "R"}, "object": "lead",
            "filter": {"status": "open", "or": [{"owner_id": "$me"}, {"score__gte": 5}]}}
    text = render_document("open_leads", data, "report", ORDER)
    assert text.endswith("filter:\n  status: open\n  or:\n    - {owner_id: $me}\n    - {score__gte: 5}\n")


@pytest.mark.parametrize("value", [
    "yes", "no", "on", "off", "y", "true", "null", "~", "", "12", "0.1", "1e3", "0x1F", "2026-01-31",
    "12:30", "#2563eb", "a: b", "a #b", "-", "- x", "* star", "&anchor", "!tag", "%x", "@x", "`x`",
    "{x}", "[x]", "x, y", " lead", "trail ", "<<", "'quoted'", '"double"', "back\\slash", "tab\there",
    "bell\x07", "line\u2028sep", "ＭＳ", "线索", "=A1", "?x", ":x", "x:", "a\nb", "a\nb\n", "a\n\n", "\nlead",
])
def test_text_reads_back_as_the_same_text_with_our_loader_and_yaml_1_1(value):
    text = render_yaml({"key": value, "list": [value], "map": {"k": value}})
    assert read_back(text) == {"key": value, "list": [value], "map": {"k": value}}
    assert yaml.safe_load(text) == {"key": value, "list": [value], "map": {"k": value}}


def test_multi_line_text_is_a_literal_block():
    text = render_yaml({"description": "First line.\nSecond line.\n", "note": "no break at the end\nsee"})
    assert text == "description: |\n  First line.\n  Second line.\nnote: |-\n  no break at the end\n  see\n"


def test_decimals_stay_exact_through_json_and_yaml():
    data = {"min": Decimal("0.10"), "max": Decimal("1E+3"), "n": 7, "flag": False, "none": None}
    assert dumps_json(data) == '{"min":0.10,"max":1E+3,"n":7,"flag":false,"none":null}'
    again = loads_json(dumps_json(data))
    assert str(again["min"]) == "0.10" and str(again["max"]) == "1E+3" and again["n"] == 7
    assert read_back(render_yaml(data)) == data
    assert "min: 0.10" in render_yaml(data)


def test_plain_data_turns_floats_into_the_decimals_they_print_as_and_refuses_the_rest():
    assert normalize({"a": 0.1, "b": (1, 2)}) == {"a": Decimal("0.1"), "b": [1, 2]}
    with pytest.raises(ValueProblem, match=r"fields\.x\.min: nan is not a usable number"):
        normalize({"fields": {"x": {"min": float("nan")}}})
    with pytest.raises(ValueProblem, match="a set is not a value"):
        normalize({"a": {1, 2}})
    with pytest.raises(ValueProblem, match="key 1 is not text"):
        normalize({1: "x"})


def test_long_collections_go_to_block_style_and_lists_of_mappings_one_item_a_line():
    long_label = {"en": "A label long enough to push the line past one hundred characters", "zh-CN": "很长"}
    text = render_yaml({"fields": {"x": {"type": "text", "label": long_label}},
                        "options": [{"value": "a"}, {"value": "b"}], "empty": {}, "none": []})
    assert text.splitlines() == [
        "fields:",
        "  x:",
        "    type: text",
        "    label: {en: A label long enough to push the line past one hundred characters, zh-CN: 很长}",
        "options:",
        "  - {value: a}",
        "  - {value: b}",
        "empty: {}",
        "none: []",
    ]


def test_a_document_file_written_is_what_the_loader_reads(tmp_path: Path):
    data = {"label": {"en": "Ticket", "zh-CN": "工单"}, "plural_label": {"en": "Tickets", "zh-CN": "工单"},
            "fields": {"name": {"type": "text", "label": {"en": "Name", "zh-CN": "名称"}}}}
    path = tmp_path / "objects" / "ticket.yaml"
    path.parent.mkdir()
    path.write_text(render_document("ticket", data, "object", ORDER), encoding="utf-8")
    assert load_file(path, Problems()).data == {"name": "ticket", **data}
