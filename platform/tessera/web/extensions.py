"""What plugins add to screens: panels on record pages and navigation menu entries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RecordPanel:
    """A panel on a record page: a bilingual ``title`` and a template rendered with ``context``
    (the template may live in the plugin's template folder)."""

    name: str
    title: Mapping[str, str]
    template: str
    context: Mapping[str, Any] = field(default_factory=dict)
    order: int = 100


@dataclass(frozen=True)
class MenuEntry:
    """A navigation entry: a bilingual ``label`` and where it leads."""

    name: str
    label: Mapping[str, str]
    url: str
    icon: str | None = None
    order: int = 100
