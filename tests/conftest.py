"""Shared fixtures: the app, its test client and CLI runner, and a package writer."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from tessera.app import create_app


@pytest.fixture
def app():
    return create_app({"TESTING": True, "SECRET_KEY": "test"})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


PackageWriter = Callable[..., Path]


@pytest.fixture
def write_package(tmp_path: Path) -> PackageWriter:
    """Write a package folder: ``write_package("base", {"objects/a.yaml": "..."}, depends=[...])``."""

    def write(name: str, files: dict[str, str], *, version: str = "1.0.0",
              depends: list[str] | None = None, extends: str | None = None, root: Path | None = None) -> Path:
        folder = (root or tmp_path) / name
        folder.mkdir(parents=True, exist_ok=True)
        manifest = [f"name: {name}", f"version: {version}", f"label: {{en: {name}, zh-CN: {name}}}"]
        if depends:
            manifest.append(f"depends: [{', '.join(repr(d) for d in depends)}]")
        if extends:
            manifest.append(f"extends: {extends}")
        (folder / "package.yaml").write_text("\n".join(manifest) + "\n", encoding="utf-8")
        for relative, text in files.items():
            path = folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return folder

    return write
