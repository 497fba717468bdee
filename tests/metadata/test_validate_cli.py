"""``tessera metadata validate PATH...``: problems as ``file:line:col: message`` and exit 1,
or a one-line ``OK:`` summary and exit 0; never a traceback."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from tessera.cli import cli

HERE = Path(__file__).parent
TESSERA = Path(sys.executable).parent / "tessera"  # the console script of this environment

WIDGET = textwrap.dedent("""\
    label: {en: Widget, zh-CN: 小部件}
    plural_label: {en: Widgets, zh-CN: 小部件}
    fields:
      name: {type: text, label: {en: Name, zh-CN: 名称}, required: true}
      quantity: {type: integer, label: {en: Quantity, zh-CN: 数量}, min: 0}
      total: {type: formula, result: integer, expression: quantity * 2, label: {en: Total, zh-CN: 合计}}
    """)


@pytest.fixture(autouse=True)
def without_bundled_packages(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the bundled packages (edited by others) out of what these tests validate."""
    empty = tmp_path / "no_bundled_packages"
    empty.mkdir()
    monkeypatch.setattr("tessera.metadata.validate.default_search_paths", lambda: [empty])


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def validate(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["metadata", "validate", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_invalid_file_prints_each_problem_as_file_line_col_message_and_exits_1(tmp_path, monkeypatch):
    write(tmp_path / "objects" / "widget.yaml", WIDGET + "colr: '#2563eb'\nicon: Bad_Icon\n")
    monkeypatch.chdir(tmp_path)

    code, out, err = validate("objects/widget.yaml")

    assert code == 1
    assert out.splitlines() == [
        "objects/widget.yaml:7:1: unknown property 'colr' (did you mean 'color'?)",
        "objects/widget.yaml:8:7: 'Bad_Icon' is not an icon name (lowercase letters, digits and dashes)",
    ]
    assert err.strip() == "2 problems in 1 file"
    assert "Traceback" not in out + err


def test_problems_of_several_files_are_sorted_by_file_then_line(tmp_path, monkeypatch):
    shop = tmp_path / "shop"
    write(shop / "package.yaml", "name: shop\nversion: 1.0.0\nlabel: {en: Shop, zh-CN: 商店}\n")
    write(shop / "objects" / "widget.yaml", WIDGET + "validations:\n  - {name: cap, condition: quantty > 9}\n")
    write(shop / "objects" / "gadget.yaml", WIDGET.replace("quantity * 2", "UPPER(name)"))
    monkeypatch.chdir(tmp_path)

    code, out, _ = validate("shop")

    assert code == 1
    assert out.splitlines() == [
        "shop/objects/gadget.yaml:6:55: expected number, but the expression gives text",
        "shop/objects/widget.yaml:8:5: validation rule 'cap' needs a 'message'",
        "shop/objects/widget.yaml:8:28: unknown field 'quantty' (did you mean 'quantity'?)",
    ]


def test_valid_package_exits_0_with_a_one_line_ok_summary(tmp_path):
    shop = tmp_path / "shop"
    write(shop / "package.yaml", "name: shop\nversion: 1.2.0\nlabel: {en: Shop, zh-CN: 商店}\n")
    write(shop / "objects" / "widget.yaml", WIDGET)

    code, out, err = validate(str(shop))

    assert code == 0, out + err
    assert len(out.splitlines()) == 1
    assert re.fullmatch(r"OK: 1 package \(shop 1\.2\.0\), 1 objects?, 3 fields, 1 formulas? checked in [0-9.]+ s\n", out)


def test_missing_path_exits_1_with_a_message_naming_it(tmp_path):
    missing = tmp_path / "no_such_package"

    code, out, err = validate(str(missing))

    assert code == 1
    assert out == ""
    assert err.strip() == f"{missing}: no such file or folder"


def test_installed_command_reports_without_traceback(tmp_path):
    case = write(tmp_path / "objects" / "widget.yaml", "label: {en: Widget, zh-CN: 小部件}\nfields:\n\tname: {}\n")

    done = subprocess.run([str(TESSERA), "metadata", "validate", "objects/widget.yaml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)

    assert done.returncode == 1
    assert done.stdout == "objects/widget.yaml:3:1: tab character: indent YAML with spaces\n"
    assert "Traceback" not in done.stderr
    assert case.is_file()


# ------------------------------------------------------------------------------ former engine bugs

def test_file_named_from_inside_its_kind_folder_is_known_to_be_an_object(tmp_path, monkeypatch):
    write(tmp_path / "objects" / "widget.yaml", WIDGET)
    monkeypatch.chdir(tmp_path / "objects")

    code, out, err = validate("widget.yaml")

    assert code == 0, out


def test_installed_command_reports_a_rollup_without_field_without_traceback():
    case = HERE / "invalid" / "objects" / "rollup_sum_without_field.yaml"

    done = subprocess.run([str(TESSERA), "metadata", "validate", f"objects/{case.name}"], cwd=case.parent.parent,
                          capture_output=True, text=True, timeout=60)

    assert "Traceback" not in done.stderr
    assert done.returncode == 1
