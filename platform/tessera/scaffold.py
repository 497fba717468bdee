"""``tessera plugins new NAME``: a plugin package a developer can install and test in a minute.

The scaffold is a complete, working plugin: a pyproject with the ``tessera`` entry point, a
hook implementation (a before_save rule), a metadata package with one object, and a test that
exercises the rule through the record service.
"""

from __future__ import annotations

import re
from pathlib import Path

_NAME = re.compile(r"^[a-z][a-z0-9_]{1,40}$")


class ScaffoldError(ValueError):
    """The name or the target folder does not allow a new plugin."""


def new_plugin(name: str, parent: Path) -> Path:
    """Write the plugin ``name`` into ``parent/<module>``; return that folder."""
    if not _NAME.match(name):
        raise ScaffoldError(f"'{name}' is not a plugin name: use lowercase letters, digits and underscores, "
                            "starting with a letter (2 to 41 characters)")
    module = name if name.startswith("tessera_") else f"tessera_{name}"
    root = parent / module
    if root.exists():
        raise ScaffoldError(f"{root} already exists; choose another name or remove it")
    package = f"{name.removeprefix('tessera_')}_objects"
    files = {
        "pyproject.toml": _PYPROJECT.format(name=name, module=module, dist=module.replace("_", "-")),
        "README.md": _README.format(name=name, module=module),
        f"{module}/__init__.py": _PLUGIN.format(name=name, package=package),
        f"{module}/metadata/{package}/package.yaml": _PACKAGE.format(package=package, name=name),
        f"{module}/metadata/{package}/objects/{name.removeprefix('tessera_')}_note.yaml": _OBJECT,
        f"tests/test_{name.removeprefix('tessera_')}.py": _TEST.format(module=module, package=package,
                                                                       note=f"{name.removeprefix('tessera_')}_note"),
    }
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


_PYPROJECT = """[build-system]
requires = ["hatchling>=1.25"]
build-backend = "hatchling.build"

[project]
name = "{dist}"
version = "0.1.0"
description = "A Tessera plugin"
requires-python = ">=3.11"
dependencies = ["tessera"]

[project.optional-dependencies]
dev = ["pytest>=8.3"]

# Tessera finds plugins through this entry-point group
[project.entry-points.tessera]
{name} = "{module}"

[tool.hatch.build.targets.wheel]
packages = ["{module}"]
"""

_README = """# {name}

A Tessera plugin. Install it next to Tessera and it is loaded at start-up:

```sh
pip install -e .            # into the environment Tessera runs in
tessera plugins list        # {name} should be listed with its hooks and metadata
pytest                      # the plugin's own tests
```

- `{module}/__init__.py` — the hook implementations (see docs/plugins.md for every hook).
- `{module}/metadata/` — the metadata package the plugin ships; it is installed in every org
  while the plugin is enabled.
"""

_PLUGIN = '''"""The {name} plugin."""

from __future__ import annotations

from pathlib import Path

from tessera.hookspecs import hookimpl

HERE = Path(__file__).parent


@hookimpl
def tessera_metadata_packages() -> list[Path]:
    """The objects this plugin brings."""
    return [HERE / "metadata" / "{package}"]


@hookimpl
def tessera_record_before_save(object, record):
    """An example rule: a note may not shout."""
    text = record.get("text") or ""
    if object.name.endswith("_note") and text.isupper() and len(text) > 3:
        return {{"text": {{"en": "Please do not write in capitals only.", "zh-CN": "请不要全部使用大写字母。"}}}}
    return None
'''

_PACKAGE = """name: {package}
version: 0.1.0
label: {{en: {name} objects, zh-CN: {name} 对象}}
depends: []
"""

_OBJECT = """label: {en: Note, zh-CN: 备注}
plural_label: {en: Notes, zh-CN: 备注}
fields:
  name: {type: text, label: {en: Title, zh-CN: 标题}, required: true}
  text: {type: textarea, label: {en: Text, zh-CN: 内容}}
layouts:
  form:
    sections:
      - {name: main, label: {en: Note, zh-CN: 备注}, columns: [[name, text]]}
  list_views:
    all: {label: {en: All notes, zh-CN: 全部备注}, columns: [name, created_at], default: true}
"""

_TEST = '''"""The plugin's rule, through Tessera's record service (as the API and screens use it)."""

import pytest

from tessera.metadata.registry import build_org_registry
from tessera.plugins import Plugins
from tessera.records import RecordService, ValidationFailed
from tessera.storage.database import Database
from tessera.storage.sync import deploy


@pytest.fixture
def service(tmp_path):
    plugins = Plugins.load()
    registry = build_org_registry(["{package}"], search_paths=plugins.metadata_packages,
                                  field_types=plugins.field_types, functions=plugins.functions)
    db = Database.connect(f"sqlite:///{{tmp_path / 'org.db'}}")
    deploy(registry, db)
    return RecordService(registry, db, plugins=plugins)


def test_a_note_in_capitals_only_is_refused(service):
    with pytest.raises(ValidationFailed) as raised:
        service.create("{note}", {{"name": "Hello", "text": "STOP SHOUTING"}})
    assert raised.value.messages() == {{"text": ["Please do not write in capitals only."]}}


def test_an_ordinary_note_is_saved(service):
    assert service.create("{note}", {{"name": "Hello", "text": "A quiet note"}})["id"] > 0
'''
