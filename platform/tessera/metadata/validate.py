"""``tessera metadata validate``: check files and packages the way a deploy would."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import Problem, Problems
from .packages import (
    PackageSource,
    enclosing_package,
    find_package_roots,
    read_loose_files,
    read_package,
)
from .registry import Builder, Registry, compile_packages, default_search_paths

_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass
class ValidationReport:
    problems: list[Problem]
    registries: list[Registry] = field(default_factory=list)

    def summary(self) -> str:
        """Counts over every registry built (a template and the base it extends share objects)."""
        packages = sorted({(p.name, p.version) for r in self.registries for p in r.packages})
        objects = {o.name for r in self.registries for o in r.objects.values()}
        fields = {(o.name, f.name) for r in self.registries for o in r.objects.values()
                  for f in o.fields.values() if not f.system}
        formulas = max((r.formula_count for r in self.registries), default=0)
        names = ", ".join(n if n == "(files)" else f"{n} {v}" for n, v in packages)
        return (f"{_count(len(packages), 'package')} ({names}), {_count(len(objects), 'object')}, "
                f"{_count(len(fields), 'field')}, {_count(formulas, 'formula')}")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def validate_paths(paths: list[Path]) -> ValidationReport:
    """Validate ``paths`` (packages, folders of packages, loose files); with none, the
    bundled packages. Each package is built with its dependencies, as a deploy would."""
    builder = Builder()
    roots: list[Path] = []
    loose: list[Path] = []
    for path in paths or default_search_paths():
        if path.is_file():
            root = enclosing_package(path)
            (roots.append(root) if root else loose.append(path))
            continue
        found = find_package_roots(path)
        if found:
            roots.extend(found)
        elif (root := enclosing_package(path / "_")) is not None:
            roots.append(root)
        else:
            loose.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in _SUFFIXES))
    selected: dict[str, PackageSource] = {}
    for root in dict.fromkeys(r.resolve() for r in roots):
        package = read_package(root, builder.schemas, builder.problems)
        if package is not None:
            builder.catalog.add(package, builder.problems)
            selected[package.name] = package
    # bundled packages resolve dependencies the given ones do not bring; they are read only
    # when a given package needs them, so their own state never leaks into this report
    known_roots = {p.root.resolve() for p in builder.catalog.packages.values()}
    for root in (r for p in default_search_paths() for r in find_package_roots(p)):
        if root.resolve() in known_roots:
            continue
        quiet = Problems()
        package = read_package(root, builder.schemas, quiet, lazy=True)
        if package is not None and package.name not in builder.catalog.packages:
            builder.catalog.add(package, quiet)
    registries: list[Registry] = []
    # build only the packages no other selected package already includes
    closures = {name: {p.name for p in builder.catalog.closure([name], builder.problems)} for name in selected}
    leaves = [n for n in selected if not any(n in closures[o] and o != n for o in selected)]
    for name in sorted(leaves):
        registry = builder.build([name])
        if registry is not None:
            registries.append(registry)
    if len(leaves) > 1:
        # an org may install them side by side: conflicts between them count too
        builder.build(sorted(leaves))
    if loose:
        package = read_loose_files(loose, builder.problems)
        registry = compile_packages([package], builder.field_types, builder.functions, builder.schemas,
                                    builder.problems)
        if registry is not None:
            registries.append(registry)
    return ValidationReport(list(builder.problems), registries)
