"""The form layout editor's state: sections, their columns and the fields in each.

The editor's page carries the whole layout in its form (hidden inputs for the field order,
text inputs for names and labels), so every button is a plain submit that works without
JavaScript: the server reads the state back (:func:`read_layout`), makes the button's edit
(:func:`edit_layout`) and shows the page again. htmx only swaps the result in place. The
layout becomes the overlay's ``layouts.form`` (:func:`layout_data`), which replaces the
package's form layout whole (docs/metadata.md#packages-and-overlays).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from tessera.metadata.model import ObjectDef

from ..form_model import layout_sections

#: metadata names: a letter, then letters, digits or underscores
NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
#: sections one layout may hold in the editor
MAX_SECTIONS = 40
#: columns the editor adds to a section (the schema reads up to four, which round-trip)
MAX_COLUMNS = 3
SCHEMA_COLUMNS = 4
#: the longest label the editor takes
MAX_LABEL = 200
#: a new section's label (metadata text, in both languages)
NEW_SECTION_LABEL = {"en": "New section", "zh-CN": "新分区"}


class BadInput(ValueError):
    """A form the editor never sends (a tampered hidden input): answered with a 400 page."""


@dataclass
class SectionState:
    name: str
    en: str
    zh: str
    collapsed: bool
    columns: list[list[str]]

    @property
    def fields(self) -> list[str]:
        return [name for column in self.columns for name in column]


@dataclass
class LayoutState:
    """A form layout being edited, and the overlay document version it was read at."""

    sections: list[SectionState]
    version: int

    @property
    def placed(self) -> list[str]:
        return [name for section in self.sections for name in section.fields]

    def where(self, name: str) -> tuple[int, int, int]:
        """(section, column, position) of a placed field; BadInput when it is not placed."""
        for s_index, section in enumerate(self.sections):
            for c_index, column in enumerate(section.columns):
                if name in column:
                    return s_index, c_index, column.index(name)
        raise BadInput(f"'{name}' is not on the layout")


def layout_fields(obj: ObjectDef) -> list[str]:
    """The fields a form layout may hold: every field of the object but the system fields."""
    return [f.name for f in obj.fields.values() if not f.system]


def layout_of(obj: ObjectDef, version: int) -> LayoutState:
    """The object's form layout as the registry has it (one section of every field when it
    has none)."""
    allowed = set(layout_fields(obj))
    sections = []
    for section in layout_sections(obj):
        labels = section.label.values
        columns = [[name for name in column if name in allowed] for column in section.columns] or [[]]
        sections.append(SectionState(section.name, labels.get("en", ""), labels.get("zh-CN", ""),
                                     section.collapsed, columns))
    return LayoutState(sections, version)


# ------------------------------------------------------------------------------ reading the form

def whole(text: Any, what: str, *, low: int = 0, high: int = 2**62) -> int:
    """A whole number from a hidden input; BadInput when it is not one in [low, high]."""
    if not isinstance(text, str) or not text.isdigit() or len(text) > 19 or not low <= int(text) <= high:
        raise BadInput(f"{what}: expected a whole number")
    return int(text)


def read_layout(form: Mapping[str, str], fields: Collection[str]) -> LayoutState:
    """The layout the editor's form holds. Raises BadInput for anything the editor never
    sends: a missing input, an unknown field, a field placed twice, too many columns."""
    version = whole(form.get("version"), "version")
    count = whole(form.get("sections"), "sections", low=1, high=MAX_SECTIONS)
    seen: set[str] = set()
    sections = []
    for index in range(count):
        prefix = f"s{index}-"
        texts = [form.get(prefix + key) for key in ("name", "en", "zh")]
        if any(text is None for text in texts):
            raise BadInput(f"section {index} is incomplete")
        columns = []
        for c_index in range(SCHEMA_COLUMNS + 1):
            raw = form.get(f"{prefix}c{c_index}")
            if raw is None:
                break
            if c_index == SCHEMA_COLUMNS:
                raise BadInput("too many columns")
            names = [name for name in raw.split(",") if name]
            for name in names:
                if name not in fields or name in seen:
                    raise BadInput(f"'{name}' cannot be placed here")
                seen.add(name)
            columns.append(names)
        if not columns:
            raise BadInput(f"section {index} has no columns")
        name, en, zh = (str(text).strip() for text in texts)
        sections.append(SectionState(name, en, zh, form.get(prefix + "collapsed") == "1", columns))
    return LayoutState(sections, version)


# ------------------------------------------------------------------------------ the buttons

def edit_layout(state: LayoutState, op: str, form: Mapping[str, str], fields: Collection[str]) -> dict[str, str]:
    """Make the edit a button asks for (``op`` is its value: ``up:company``,
    ``section_add``, ...). Returns notes for people by input name (``add_field``: choose a
    field); BadInput for an edit the editor never offers."""
    verb, _sep, arg = op.partition(":")
    if verb in ("up", "down", "left", "right", "remove"):
        _move(state, verb, arg)
    elif verb == "add":
        return _add(state, form, fields)
    elif verb.startswith("section_"):
        _section_edit(state, verb, arg)
    elif verb == "column_add":
        section = state.sections[_index(arg, len(state.sections))]
        if len(section.columns) < MAX_COLUMNS:
            section.columns.append([])
    elif verb == "column_remove":
        s_text, _sep, c_text = arg.partition("-")
        section = state.sections[_index(s_text, len(state.sections))]
        c_index = _index(c_text, len(section.columns))
        if len(section.columns) > 1:
            moved = section.columns.pop(c_index)
            section.columns[max(c_index - 1, 0)].extend(moved)  # its fields go to the column beside
    elif verb not in ("refresh", "save"):
        raise BadInput(f"unknown edit '{op}'")
    return {}


def _move(state: LayoutState, verb: str, name: str) -> None:
    s_index, c_index, position = state.where(name)
    sections = state.sections
    column = sections[s_index].columns[c_index]
    if verb == "remove":
        column.pop(position)
    elif verb == "up":
        if position > 0:
            column[position - 1], column[position] = column[position], column[position - 1]
        elif s_index > 0:  # the top of a section: to the end of the one above
            column.pop(position)
            above = sections[s_index - 1].columns
            above[min(c_index, len(above) - 1)].append(name)
    elif verb == "down":
        if position < len(column) - 1:
            column[position + 1], column[position] = column[position], column[position + 1]
        elif s_index < len(sections) - 1:  # the bottom of a section: to the top of the one below
            column.pop(position)
            below = sections[s_index + 1].columns
            below[min(c_index, len(below) - 1)].insert(0, name)
    else:
        columns = sections[s_index].columns
        target = c_index - 1 if verb == "left" else c_index + 1
        if 0 <= target < len(columns):
            column.pop(position)
            columns[target].insert(min(position, len(columns[target])), name)


def _add(state: LayoutState, form: Mapping[str, str], fields: Collection[str]) -> dict[str, str]:
    name = (form.get("add_field") or "").strip()
    if not name:
        return {"add_field": _("Choose a field to add.")}
    if name not in fields or name in state.placed:
        raise BadInput(f"'{name}' cannot be added")
    s_text, _sep, c_text = (form.get("add_to") or "").partition("-")
    section = state.sections[_index(s_text, len(state.sections))]
    section.columns[_index(c_text, len(section.columns))].append(name)
    return {}


def _section_edit(state: LayoutState, verb: str, arg: str) -> None:
    sections = state.sections
    if verb == "section_add":
        if len(sections) >= MAX_SECTIONS:
            return
        taken = {s.name for s in sections}
        number = next(n for n in range(len(sections) + 1, len(sections) + MAX_SECTIONS + 2)
                      if f"section_{n}" not in taken)
        sections.append(SectionState(f"section_{number}", NEW_SECTION_LABEL["en"], NEW_SECTION_LABEL["zh-CN"],
                                     False, [[]]))
        return
    index = _index(arg, len(sections))
    if verb == "section_remove":
        if len(sections) > 1:  # a form keeps at least one section; the removed one's fields are not shown
            sections.pop(index)
    elif verb == "section_up":
        if index > 0:
            sections[index - 1], sections[index] = sections[index], sections[index - 1]
    elif verb == "section_down":
        if index < len(sections) - 1:
            sections[index + 1], sections[index] = sections[index], sections[index + 1]
    else:
        raise BadInput(f"unknown edit '{verb}'")


def _index(text: str, size: int) -> int:
    if not text.isdigit() or int(text) >= size:
        raise BadInput("no such section or column")
    return int(text)


# ------------------------------------------------------------------------------ checking and writing

def layout_problems(state: LayoutState) -> dict[str, str]:
    """What the editor can say before the plan: names and labels, by input name."""
    problems: dict[str, str] = {}
    seen: set[str] = set()
    for index, section in enumerate(state.sections):
        prefix = f"s{index}-"
        if not NAME.match(section.name):
            problems[prefix + "name"] = _("Use lowercase letters, digits and underscores, starting with a letter.")
        elif section.name in seen:
            problems[prefix + "name"] = _("Another section has this name.")
        seen.add(section.name)
        problems.update(label_problems(prefix + "en", section.en, prefix + "zh", section.zh))
    return problems


def label_problems(en_key: str, en: str, zh_key: str, zh: str) -> dict[str, str]:
    problems = {}
    for key, text, missing in ((en_key, en, _("Enter the label in English.")),
                               (zh_key, zh, _("Enter the label in Simplified Chinese."))):
        if not text:
            problems[key] = missing
        elif len(text) > MAX_LABEL:
            problems[key] = _("At most %(num)s characters.", num=MAX_LABEL)
    return problems


def layout_data(state: LayoutState) -> dict[str, Any]:
    """The layout as metadata: ``{sections: [{name, label, collapsed, columns}]}``."""
    sections = []
    for section in state.sections:
        data: dict[str, Any] = {"name": section.name, "label": {"en": section.en, "zh-CN": section.zh}}
        if section.collapsed:
            data["collapsed"] = True
        data["columns"] = [list(column) for column in section.columns]
        sections.append(data)
    return {"sections": sections}


def form_problem_input(path: Sequence[Any]) -> str | None:
    """The editor input a metadata problem at ``path`` (inside the object) belongs beside."""
    if len(path) < 4 or tuple(path[:3]) != ("layouts", "form", "sections") or not isinstance(path[3], int):
        return None
    prefix = f"s{path[3]}-"
    rest = tuple(path[4:])
    if rest[:1] == ("name",):
        return prefix + "name"
    if rest[:1] == ("label",):
        return prefix + ("zh" if rest[1:2] == ("zh-CN",) else "en")
    if rest[:1] == ("columns",):
        return prefix + "fields"
    return None
