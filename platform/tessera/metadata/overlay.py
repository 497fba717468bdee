"""The org overlay as metadata: its documents, the package they make, and that package on disk.

An org's overlay is what its admins (in the browser) and implementers (``tessera metadata
deploy --overlay``) changed on top of the packages the org installs. It is stored in the org's
database (:mod:`tessera.storage.overlay`), one row per document, and merged as the last layer
of the org's registry, so it may change anything installed. Here it becomes a
:class:`~.packages.PackageSource` like any package: each stored document is written as the YAML
its export would hold (:mod:`.writer`) and read back with the loader, so a problem in it is
reported at the line and column of that file (``(overlay)/objects/ticket.yaml:7:20``) and, for
the screens, at the document and the path inside it (:class:`DocumentProblem`).

On disk the overlay is a package folder: ``package.yaml`` plus one file per document in the
usual kind folders. :func:`write_package` writes it so that writing it again with nothing
changed gives the same bytes; :func:`read_package_folder` reads one back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import Location, Problem, Problems
from .loader import Document, load_text
from .packages import KIND_FOLDERS, MANIFEST, PackageSource, read_documents, read_package
from .schema import SchemaSet
from .writer import KeyOrder, ValueProblem, normalize, render_document, render_yaml

#: the name of the stored overlay's package in registries and deployment records
ORG_OVERLAY = "org_overlay"
#: stored documents are reported as if they were files below this folder
DISPLAY_ROOT = "(overlay)"
#: document kind -> its folder in a package
FOLDERS: Mapping[str, str] = {kind: folder for folder, kind in KIND_FOLDERS.items()}
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_SUFFIXES = (".yaml", ".yml", ".json")

DocumentKey = tuple[str, str]  # (kind, name)


@dataclass(frozen=True)
class OverlayDocument:
    """One document of an org's overlay: its ``data`` without ``kind`` and ``name`` (those are
    the key), and its ``version`` — the id of the change that last wrote it (0: not stored)."""

    kind: str
    name: str
    data: Mapping[str, Any]
    version: int = 0
    #: the file it was read from, when it came from one (problems then point into that file)
    source: Document | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> DocumentKey:
        return (self.kind, self.name)

    @property
    def path(self) -> str:
        """Where the document sits in a package: ``objects/ticket.yaml``."""
        return document_path(self.kind, self.name)


@dataclass(frozen=True)
class DocumentProblem:
    """A metadata problem, placed for people: the file position as ``tessera metadata
    validate`` prints it and, when it lies in an overlay document, that document and the path
    inside it (``fields.rating.expression``) for a screen to show it beside the input."""

    message: str
    location: Location
    kind: str | None = None
    name: str | None = None
    path: tuple[Any, ...] = ()

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"

    @property
    def where(self) -> str:
        """``fields.rating.expression`` (empty for the whole document or outside the overlay)."""
        return ".".join(str(p) for p in self.path)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "path": self.where, "message": self.message,
                "location": str(self.location)}


def document_path(kind: str, name: str) -> str:
    return f"{FOLDERS[kind]}/{name}.yaml"


def parse_key(key: DocumentKey | str) -> DocumentKey:
    """``("object", "lead")`` or ``"object/lead"`` as a checked key; ValueError otherwise."""
    if isinstance(key, str):
        kind, _, name = key.partition("/")
    elif isinstance(key, tuple | list) and len(key) == 2:
        kind, name = key
    else:
        raise ValueError(f"{key!r} is not a document key like ('object', 'ticket') or 'object/ticket'")
    if kind not in FOLDERS:
        raise ValueError(f"'{kind}' is not a kind of document (one of {', '.join(FOLDERS)})")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"'{name}' is not a document name (lowercase letters, digits and _, starting with a letter)")
    return kind, name


def key_text(key: DocumentKey) -> str:
    return f"{key[0]}/{key[1]}"


def clean_data(kind: str, name: str, data: Any, order: KeyOrder) -> dict[str, Any]:
    """A document's data as stored: plain values (:func:`~.writer.normalize`), no ``kind`` or
    ``name`` keys (they must agree with the key if given), keys in schema order. ValueError."""
    if not isinstance(data, Mapping):
        message = f"{kind} '{name}': a document is a mapping of properties"
        raise ValueError(message)  # noqa: TRY004 - a person's mistake, reported like the others
    try:
        plain = normalize(data)
    except ValueProblem as exc:
        raise ValueError(f"{kind} '{name}': {exc}") from None
    if plain.get("kind", kind) != kind:
        raise ValueError(f"{kind} '{name}' says kind: {plain['kind']}")
    if plain.get("name", name) != name:
        raise ValueError(f"{kind} '{name}' says name: {plain['name']}")
    return order.canonical(kind, {k: v for k, v in plain.items() if k not in ("kind", "name")})


# ------------------------------------------------------------------------------ the package

class OverlayLayer:
    """Makes the overlay's package for :func:`~.registry.build_org_registry` (``org_overlay``)
    and remembers its documents, to place the problems found in them."""

    def __init__(self, documents: Iterable[OverlayDocument]) -> None:
        self.documents = sorted(documents, key=lambda d: (d.kind, d.name))
        self.files: dict[str, tuple[OverlayDocument, Document]] = {}

    def __call__(self, builder: Any) -> PackageSource | None:
        return self.package(builder.schemas, builder.problems)

    def package(self, schemas: SchemaSet, problems: Problems) -> PackageSource | None:
        if not self.documents:
            return None
        order = KeyOrder(schemas.schemas)
        loaded: list[tuple[str, Document]] = []
        for document in self.documents:
            doc = document.source or load_text(render_document(document.name, document.data, document.kind, order),
                                               f"{DISPLAY_ROOT}/{document.path}", problems)
            if doc is not None:
                self.files[doc.display] = (document, doc)
                loaded.append((document.kind, doc))
        return PackageSource(name=ORG_OVERLAY, version="0", root=Path(DISPLAY_ROOT), manifest=None,
                             label={"en": "Org overlay", "zh-CN": "组织定制"}, documents=loaded)

    def place(self, problems: Iterable[Problem]) -> list[DocumentProblem]:
        """Each problem with the overlay document and the path inside it, where it lies in one."""
        placed = []
        for problem in problems:
            found = self.files.get(problem.location.file)
            if found is None:
                placed.append(DocumentProblem(problem.message, problem.location))
                continue
            document, doc = found
            placed.append(DocumentProblem(problem.message, problem.location, document.kind, document.name,
                                          path_at(doc, problem.location.line, problem.location.column)))
        return placed


def path_at(doc: Document, line: int, column: int) -> tuple[Any, ...]:
    """The path of the key or value that starts nearest before ``line:column`` (the deepest
    one when several start there): where a problem reported at that position lies."""
    best: tuple[Any, ...] = ()
    best_at = (0, 0)
    for marks in (doc.value_marks, doc.key_marks):
        for path, mark in marks.items():
            at = (mark.line, mark.column)
            if at <= (line, column) and (at > best_at or (at == best_at and len(path) > len(best))):
                best, best_at = path, at
    return best


# ------------------------------------------------------------------------------ on disk

def manifest_data(depends: Sequence[str]) -> dict[str, Any]:
    """The package.yaml of an exported overlay: no timestamp, no org name, so two orgs with
    the same overlay export the same bytes."""
    data: dict[str, Any] = {
        "name": "overlay", "version": "0",
        "label": {"en": "Org overlay", "zh-CN": "组织定制"},
        "description": "An org's own metadata, written by `tessera metadata export`; "
                       "`tessera metadata deploy --overlay FOLDER` makes it another org's overlay.",
    }
    if depends:
        data["depends"] = list(depends)
    return data


def write_package(folder: Path, documents: Iterable[OverlayDocument], schemas: SchemaSet,
                  depends: Sequence[str] = ()) -> list[Path]:
    """Write the overlay into ``folder`` as a package and return the files that changed.

    Files are rewritten only when their bytes differ; documents no longer in the overlay are
    deleted from the kind folders (other files are left alone). ``folder`` must be empty, new
    or an earlier export (it holds package.yaml); ValueError otherwise."""
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} is a file, not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / MANIFEST).is_file():
        raise ValueError(f"{folder} is not empty and holds no {MANIFEST}: export into a new or empty folder, "
                         "or into an earlier export")
    order = KeyOrder(schemas.schemas)
    wanted: dict[Path, str] = {folder / MANIFEST: render_yaml(order.canonical("package", manifest_data(depends)))}
    for document in documents:
        wanted[folder / document.path] = render_document(document.name, document.data, document.kind, order)
    changed: list[Path] = []
    for kind_folder in [folder / name for name in FOLDERS.values() if (folder / name).is_dir()]:
        for old in sorted(kind_folder.rglob("*")):
            if old.suffix.lower() in _SUFFIXES and old.is_file() and old not in wanted:
                old.unlink()
                changed.append(old)
        if not any(kind_folder.iterdir()):
            kind_folder.rmdir()
    for path, text in wanted.items():
        data = text.encode("utf-8")
        if not path.is_file() or path.read_bytes() != data:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            changed.append(path)
    return changed


def read_package_folder(folder: Path, schemas: SchemaSet, problems: Problems
                        ) -> tuple[PackageSource | None, list[OverlayDocument]]:
    """An overlay package folder (package.yaml optional) as its manifest and documents, each
    keeping the file it came from. Problems (YAML, manifest, names) go to ``problems``."""
    manifest = read_package(folder, schemas, problems, lazy=True) if (folder / MANIFEST).is_file() else None
    order = KeyOrder(schemas.schemas)
    found: dict[DocumentKey, OverlayDocument] = {}
    for kind, doc in read_documents(folder, problems):
        if not isinstance(doc.data, dict):
            problems.add(doc.location(()), f"a {kind} document must be a mapping")
            continue
        name = doc.data.get("name", doc.path.stem)
        if not isinstance(name, str) or not _NAME.match(name) or name != doc.path.stem:
            problems.add(doc.location(("name",) if "name" in doc.data else ()),
                         f"the {kind} in {doc.path.name} must be named after its file ('{doc.path.stem}'), "
                         "in lowercase letters, digits and _")
            continue
        if (kind, name) in found:
            other = found[(kind, name)].source
            problems.add(doc.location(()), f"{kind} '{name}' is also defined at {other.display if other else '?'}")
            continue
        try:
            data = clean_data(kind, name, doc.data, order)
        except ValueError as exc:
            problems.add(doc.location(()), str(exc))
            continue
        found[(kind, name)] = OverlayDocument(kind, name, data, source=doc)
    return manifest, [found[key] for key in sorted(found)]


__all__ = ["DISPLAY_ROOT", "FOLDERS", "ORG_OVERLAY", "DocumentKey", "DocumentProblem", "OverlayDocument",
           "OverlayLayer", "clean_data", "document_path", "key_text", "manifest_data", "parse_key", "path_at",
           "read_package_folder", "write_package"]
