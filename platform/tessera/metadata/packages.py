"""Metadata packages: finding them, reading their manifests, and ordering them by dependency.

A package is a folder with a ``package.yaml`` and documents in kind folders (``objects/``,
``flows/``, ``reports/``, ``dashboards/``, ``apps/``). ``depends`` names packages it needs
(with optional version ranges); ``extends`` names the one package it overlays, which it then
depends on too. Packages load dependencies first; among independent ones, by name, so the
order never depends on the file system.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from .errors import Location, Problems
from .loader import Document, display_path, load_file
from .schema import SchemaSet, suggest

#: folder name -> document kind
KIND_FOLDERS: Mapping[str, str] = {
    "objects": "object",
    "flows": "flow",
    "reports": "report",
    "dashboards": "dashboard",
    "apps": "app",
    "roles": "role",
}
MANIFEST = "package.yaml"
_SUFFIXES = (".yaml", ".yml", ".json")
_DEPENDENCY = re.compile(r"^\s*([a-z][a-z0-9_]*)\s*(.*?)\s*$")


@dataclass(frozen=True)
class Dependency:
    name: str
    specifier: SpecifierSet
    location: Location


@dataclass
class PackageSource:
    """A package as read from disk: manifest facts and its documents, not yet merged."""

    name: str
    version: str
    root: Path
    manifest: Document | None
    label: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    depends: list[Dependency] = field(default_factory=list)
    extends: str | None = None
    extends_location: Location | None = None
    documents: list[tuple[str, Document]] = field(default_factory=list)
    implicit_depends_on_all: bool = False  # an org overlay may change anything installed
    documents_read: bool = True  # False until a lazily read package's documents are needed

    def read_documents(self, problems: Problems) -> None:
        """Read the documents of a package whose manifest alone was read."""
        if not self.documents_read:
            self.documents = list(read_documents(self.root, problems))
            self.documents_read = True

    @property
    def location(self) -> Location:
        if self.manifest is not None:
            return self.manifest.location(())
        return Location(display_path(self.root), 1, 1)

    def dependency_names(self) -> list[str]:
        names = [d.name for d in self.depends]
        if self.extends and self.extends not in names:
            names.append(self.extends)
        return names


def read_package(root: Path, schemas: SchemaSet, problems: Problems, *, lazy: bool = False) -> PackageSource | None:
    """Read the package in ``root``: validate its manifest and load every document (with
    ``lazy``, only when :meth:`PackageSource.read_documents` is called: a package that is only
    available, not used, costs nothing and reports nothing)."""
    manifest_path = root / MANIFEST
    manifest = load_file(manifest_path, problems)
    if manifest is None:
        return None
    if not isinstance(manifest.data, dict):
        problems.add(manifest.location(()), "package.yaml must be a mapping of package properties")
        return None
    if not schemas.validate("package", manifest, problems):
        return None
    data = manifest.data
    version = str(data["version"])
    try:
        Version(version)
    except InvalidVersion:
        problems.add(manifest.location(("version",)), f"'{version}' is not a version like 1.0.0")
        return None
    package = PackageSource(
        name=data["name"], version=version, root=root, manifest=manifest,
        label=data["label"], description=data.get("description", ""),
        extends=data.get("extends"),
        extends_location=manifest.location(("extends",)) if "extends" in data else None,
    )
    for index, text in enumerate(data.get("depends", [])):
        where = manifest.location(("depends", index))
        match = _DEPENDENCY.match(text)
        assert match is not None  # the schema's pattern already guarantees the shape
        try:
            specifier = SpecifierSet(match.group(2).replace(" ", ""))
        except InvalidSpecifier:
            problems.add(where, f"'{text}' has an invalid version range (write e.g. 'l2c>=1.0,<2')")
            continue
        package.depends.append(Dependency(match.group(1), specifier, where))
    if lazy:
        package.documents_read = False
    else:
        package.documents = list(read_documents(root, problems))
    return package


def read_documents(root: Path, problems: Problems) -> Iterable[tuple[str, Document]]:
    for child in sorted(root.iterdir()):
        if not child.is_dir() or child.name.startswith((".", "_")):
            continue
        kind = KIND_FOLDERS.get(child.name)
        files = sorted(p for p in child.rglob("*") if p.suffix.lower() in _SUFFIXES and p.is_file()
                       and not is_test_file(p))
        if kind is None:
            if files:
                problems.add(
                    Location(display_path(files[0]), 1, 1),
                    f"'{child.name}/' is not a metadata folder{suggest(child.name, KIND_FOLDERS)}; "
                    f"documents go in {', '.join(f'{k}/' for k in KIND_FOLDERS)}",
                )
            continue
        for path in files:
            doc = load_file(path, problems)
            if doc is not None:
                yield kind, doc


def is_test_file(path: Path) -> bool:
    """``flows/x.test.yaml``: a flow's tests, shipped beside it (``tessera flows check``), not a document."""
    return path.stem.lower().endswith(".test")


def read_loose_files(paths: list[Path], problems: Problems) -> PackageSource:
    """Documents given on their own (outside any package) form an anonymous package; the
    kind comes from the folder they sit in or from their ``kind`` key."""
    package = PackageSource(name="(files)", version="0", root=Path("."), manifest=None)
    for path in paths:
        if path.suffix.lower() not in _SUFFIXES:
            problems.add(Location(display_path(path), 1, 1),
                         "not a metadata file: documents are .yaml, .yml or .json")
            continue
        doc = load_file(path, problems)
        if doc is None:
            continue
        declared = doc.data.get("kind") if isinstance(doc.data, dict) else None
        # the folder decides when it is a kind folder (a disagreeing 'kind' is then reported)
        kind = KIND_FOLDERS.get(path.resolve().parent.name) or (declared if isinstance(declared, str) else None)
        if kind is None or kind == "package":
            problems.add(
                doc.location(()),
                "cannot tell what kind of document this is: put it in objects/, flows/, reports/, "
                "dashboards/ or apps/, or give it a 'kind' key",
            )
            continue
        package.documents.append((kind, doc))
    return package


def find_package_roots(path: Path, *, max_depth: int = 4) -> list[Path]:
    """Every package folder at or below ``path`` (a folder holding package.yaml)."""
    if (path / MANIFEST).is_file():
        return [path]
    if max_depth == 0 or not path.is_dir():
        return []
    roots: list[Path] = []
    for child in sorted(path.iterdir()):
        if child.is_dir() and not child.name.startswith((".", "_")):
            roots.extend(find_package_roots(child, max_depth=max_depth - 1))
    return roots


def package_name(root: Path) -> str | None:
    """The name a package folder's manifest declares (None when it has none readable)."""
    manifest = load_file(root / MANIFEST, Problems()) if (root / MANIFEST).is_file() else None
    name = manifest.data.get("name") if manifest is not None and isinstance(manifest.data, dict) else None
    return name if isinstance(name, str) else None


def enclosing_package(path: Path) -> Path | None:
    """The package folder that contains file ``path``, if any."""
    for parent in path.resolve().parents:
        if (parent / MANIFEST).is_file():
            return parent
    return None


class Catalog:
    """The packages available to install, by name."""

    def __init__(self) -> None:
        self.packages: dict[str, PackageSource] = {}

    def add(self, package: PackageSource, problems: Problems) -> None:
        other = self.packages.get(package.name)
        if other is not None and other.root.resolve() != package.root.resolve():
            problems.add(
                package.location,
                f"package '{package.name}' is also defined at {other.location}; package names must be unique",
            )
            return
        self.packages[package.name] = package

    def closure(self, names: Iterable[str], problems: Problems) -> list[PackageSource]:
        """``names`` and everything they depend on, dependencies first."""
        wanted: dict[str, PackageSource] = {}
        pending = list(names)
        while pending:
            name = pending.pop()
            if name in wanted:
                continue
            package = self.packages.get(name)
            if package is None:  # callers only ask for names they know
                continue
            wanted[name] = package
            for dep in package.depends:
                if dep.name not in self.packages:
                    problems.add(dep.location, f"package '{package.name}' depends on '{dep.name}', "
                                 f"which is not installed{suggest(dep.name, self.packages)}")
                    continue
                found = self.packages[dep.name].version
                if not dep.specifier.contains(found, prereleases=True):
                    problems.add(dep.location, f"package '{package.name}' needs {dep.name}{dep.specifier}, "
                                 f"but version {found} is installed")
                pending.append(dep.name)
            if package.extends:
                if package.extends not in self.packages:
                    problems.add(package.extends_location or package.location,
                                 f"package '{package.name}' extends '{package.extends}', which is not "
                                 f"installed{suggest(package.extends, self.packages)}")
                else:
                    pending.append(package.extends)
        ordered = order_packages(list(wanted.values()), problems)
        for package in ordered:
            package.read_documents(problems)
        return ordered


def order_packages(packages: list[PackageSource], problems: Problems) -> list[PackageSource]:
    """Dependencies first, ties broken by name; a cycle is reported with its members."""
    by_name = {p.name: p for p in packages}
    remaining = {p.name: {d for d in p.dependency_names() if d in by_name} for p in packages}
    ordered: list[PackageSource] = []
    while remaining:
        ready = sorted(name for name, deps in remaining.items() if not deps)
        if not ready:
            _report_cycles(remaining, by_name, problems)
            break
        for name in ready:
            ordered.append(by_name[name])
            del remaining[name]
        for deps in remaining.values():
            deps.difference_update(ready)
    return ordered


def _report_cycles(graph: Mapping[str, set[str]], by_name: Mapping[str, PackageSource],
                   problems: Problems) -> None:
    """Report each package on a dependency cycle once, at the entry that leads round it.
    Packages that merely depend on a cycle are not on it and are not blamed."""
    for member in sorted(graph):
        for step in sorted(graph[member]):
            path = _path_back(graph, step, member)
            if path is None:
                continue
            package = by_name[member]
            entry = next((d.location for d in package.depends if d.name == step), None)
            if entry is None and package.extends == step:
                entry = package.extends_location
            problems.add(entry or package.location,
                         f"packages depend on each other in a cycle: {' -> '.join([member, *path])}")
            break


def _path_back(graph: Mapping[str, set[str]], start: str, goal: str) -> list[str] | None:
    """The shortest dependency path from ``start`` to ``goal`` (inclusive), if any."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        name = queue.pop(0)
        if name == goal:
            return paths[name]
        for nxt in sorted(graph.get(name, ())):
            if nxt not in paths:
                paths[nxt] = paths[name] + [nxt]
                queue.append(nxt)
    return None


def dependency_closure(packages: list[PackageSource]) -> dict[str, frozenset[str]]:
    """For each package, every package it depends on directly or indirectly (an org overlay:
    every package before it, so a database overlay may change what the overlay folder set)."""
    by_name = {p.name: p for p in packages}
    result: dict[str, frozenset[str]] = {}
    for position, package in enumerate(packages):  # packages are in dependency order
        deps: set[str] = set()
        names = ([p.name for p in packages[:position]] if package.implicit_depends_on_all
                 else package.dependency_names())
        for name in names:
            if name in by_name and name != package.name:
                deps.add(name)
                deps |= result.get(name, frozenset())
        result[package.name] = frozenset(deps)
    return result


def extension_closure(packages: list[PackageSource]) -> dict[str, frozenset[str]]:
    """For each package, the packages whose objects it may change: those it extends,
    directly or through the packages they extend (an org overlay may change all)."""
    by_name = {p.name: p for p in packages}
    result: dict[str, frozenset[str]] = {}
    for position, package in enumerate(packages):
        if package.implicit_depends_on_all:
            result[package.name] = frozenset(p.name for p in packages[:position])
            continue
        chain: set[str] = set()
        target = package.extends
        while target and target in by_name and target not in chain:
            chain.add(target)
            target = by_name[target].extends
        result[package.name] = frozenset(chain)
    return result
