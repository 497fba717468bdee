"""How long building a registry takes, and how it grows.

Builds synthetic packages of N objects x 30 fields (N = 125, 250, 500, 1000) and the bundled
L2C package. Every object has text, number, money, date, picklist and lookup fields, one
formula field, one validation rule, a form layout and a list view with a filter, so each
phase of the build (read, schema, merge, compile, formulas) is exercised.

The baseline, measured in the same run, is the least a loader can do: parse the same files
with libyaml (``yaml.load(..., CSafeLoader)``) and nothing else. The ratio says what checking
and compiling costs on top of reading.

Run: .venv/bin/python bench/registry_build.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

from tessera.metadata.registry import build_org_registry, default_search_paths

FIELDS_PER_OBJECT = 30
SIZES = (125, 250, 500, 1000)


def write_synthetic_package(root: Path, objects: int) -> None:
    (root / "objects").mkdir(parents=True)
    (root / "package.yaml").write_text(
        "name: synthetic\nversion: 1.0.0\nlabel: {en: Synthetic, zh-CN: 合成}\n", encoding="utf-8")
    for index in range(objects):
        (root / "objects" / f"obj_{index:04d}.yaml").write_text(_object(index), encoding="utf-8")


def _object(index: int) -> str:
    lines = [
        f"name: obj_{index:04d}",
        f"label: {{en: Object {index}, zh-CN: 对象{index}}}",
        f"plural_label: {{en: Objects {index}, zh-CN: 对象{index}}}",
        "search_fields: [name]",
        "fields:",
        "  name: {type: text, label: {en: Name, zh-CN: 名称}, required: true, max_length: 120}",
        "  status:",
        "    type: picklist",
        "    label: {en: Status, zh-CN: 状态}",
        "    default: s1",
        "    options:",
    ]
    lines += [f"      - {{value: s{k}, label: {{en: S{k}, zh-CN: 状态{k}}}}}" for k in range(1, 6)]
    if index:
        lines.append(f"  parent: {{type: lookup, target: obj_{index - 1:04d}, label: {{en: Parent, zh-CN: 上级}}}}")
    else:
        lines.append("  parent: {type: lookup, target: obj_0000, label: {en: Parent, zh-CN: 上级}}")
    kinds = ("text", "integer", "currency", "date", "decimal", "boolean", "email")
    used = 4  # name, status, parent, total (below)
    for k in range(FIELDS_PER_OBJECT - used):
        kind = kinds[k % len(kinds)]
        lines.append(f"  f{k:02d}: {{type: {kind}, label: {{en: Field {k}, zh-CN: 字段{k}}}}}")
    lines += [
        "  total:",
        "    type: formula",
        "    result: currency",
        "    expression: IF(ISBLANK(f02), 0, f02 * f01 + f04)",
        "    label: {en: Total, zh-CN: 合计}",
        "validations:",
        "  - name: positive",
        "    condition: AND(NOT(ISBLANK(f01)), f01 < 0, status <> 's5')",
        "    message: {en: Must be positive, zh-CN: 必须为正数}",
        "    error_field: f01",
        "layouts:",
        "  form:",
        "    sections:",
        "      - {name: main, label: {en: Main, zh-CN: 主要}, columns: [[name, status, parent], [f00, f01, f02]]}",
        "  list_views:",
        "    open: {label: {en: Open, zh-CN: 未完成}, columns: [name, status, parent.name], sort: [-created_at],"
        " filter: {status__in: [s1, s2], f01__gte: 10}}",
    ]
    return "\n".join(lines) + "\n"


def best_of(repeat: int, func) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return min(times)


def parse_only(root: Path) -> None:
    for path in sorted(root.rglob("*.yaml")):
        yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)


def main() -> None:
    print(f"python {sys.version.split()[0]}; {FIELDS_PER_OBJECT} fields per object; best of runs")
    print(f"{'objects':>8} {'fields':>7} {'build s':>8} {'parse s':>8} {'ratio':>6} {'ms/object':>10}")
    per_object = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in SIZES:
            root = Path(tmp) / f"synthetic_{size}"
            write_synthetic_package(root, size)
            repeat = 3 if size <= 250 else 2
            build = best_of(repeat, lambda r=root: build_org_registry(["synthetic"], search_paths=[r]))
            parse = best_of(repeat, lambda r=root: parse_only(r))
            per_object.append(build / size * 1000)
            print(f"{size:>8} {size * FIELDS_PER_OBJECT:>7} {build:>8.2f} {parse:>8.2f} "
                  f"{build / parse:>6.1f} {build / size * 1000:>10.2f}")
    spread = max(per_object) / min(per_object)
    print(f"growth: ms/object varies by a factor of {spread:.2f} from {SIZES[0]} to {SIZES[-1]} objects "
          "(1.0 = perfectly linear)")
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        registry = build_org_registry(["l2c"], search_paths=default_search_paths())
        runs.append(time.perf_counter() - started)
    print(f"l2c: {len(registry.objects)} objects, {registry.field_count} fields, {registry.formula_count} formulas: "
          f"median {statistics.median(runs):.3f} s, best {min(runs):.3f} s")


if __name__ == "__main__":
    main()
