"""The documentation cannot drift from the code it describes."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from tessera import hookspecs

DOCS = Path(__file__).resolve().parents[1] / "docs"
HOOKS = sorted(name for name, value in vars(hookspecs).items()
               if name.startswith("tessera_") and inspect.isfunction(value))


def documented_signature(name: str) -> str:
    parameters = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
    return f"def {name}({parameters})"


def test_there_are_hooks_to_document():
    assert len(HOOKS) >= 18


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented_with_its_exact_arguments_and_result_rule(hook):
    text = (DOCS / "plugins.md").read_text(encoding="utf-8")
    section = re.search(rf"^### `{hook}`\n(.*?)(?=^### |^## |\Z)", text, re.S | re.M)
    assert section, f"docs/plugins.md has no section '### `{hook}`'"
    body = section.group(1)
    assert documented_signature(hook) in body, f"the documented signature of {hook} differs from hookspecs.py"
    assert "**Result:**" in body, f"{hook}: say whether the result is a list or the first answer"
    assert "@hookimpl" in body, f"{hook}: give an example implementation"


def test_every_hook_states_its_result_rule_in_its_docstring():
    for hook in HOOKS:
        doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
        assert re.search(r"Result: (list|first|ignored)", doc), hook


def test_docs_name_no_hook_that_does_not_exist():
    text = (DOCS / "plugins.md").read_text(encoding="utf-8")
    assert set(re.findall(r"^### `(tessera_\w+)`", text, re.M)) == set(HOOKS)
