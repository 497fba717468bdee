"""The example plugin, installed (a real distribution with its entry point) for these tests only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "example_plugin"


@pytest.fixture(scope="session")
def example_plugin_site(tmp_path_factory) -> Path:
    """A folder where the example plugin is pip-installed, as a user would install a plugin."""
    site = tmp_path_factory.mktemp("plugin-site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site),
                    str(EXAMPLE)], check=True, capture_output=True, text=True)
    return site


@pytest.fixture
def example_plugin(example_plugin_site, monkeypatch) -> Path:
    """Make the installed example plugin visible (its entry point and module) to this test."""
    monkeypatch.syspath_prepend(str(example_plugin_site))
    yield example_plugin_site
    for name in [m for m in sys.modules if m == "tessera_example" or m.startswith("tessera_example.")]:
        del sys.modules[name]


@pytest.fixture
def plugins(example_plugin):
    from tessera.plugins import Plugins

    return Plugins.load()


@pytest.fixture
def gadgets(plugins, database):
    """A record service for an org with the example plugin enabled, its tables deployed."""
    from tessera.metadata.registry import build_org_registry
    from tessera.records import RecordService
    from tessera.storage.sync import deploy

    registry = build_org_registry(["example_gadgets"], search_paths=plugins.metadata_packages,
                                  field_types=plugins.field_types, functions=plugins.functions)
    deploy(registry, database)
    return RecordService(registry, database, plugins=plugins)
