"""The list view editor's state: name, labels, columns, sorts, filter, board field, default.

Like the form layout editor, the page carries the whole view in its form so that it works
without JavaScript. The filter is typed in the API's query-string syntax
(``status__in=pending,in_progress&score__gte=50``; ``filter={"or": [...]}`` for groups),
checked with :func:`tessera.metadata.filters.parse_query_filters` and stored as the metadata
mapping a list view's ``filter`` holds — the same filter, one syntax.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from tessera.i18n import current_locale, in_locale
from tessera.metadata.filters import Condition, Filter, QueryError, parse_query_filters
from tessera.metadata.model import FieldDef, ListViewDef, ObjectDef
from tessera.metadata.scope import RegistryScope
from tessera.metadata.writer import dumps_json

from .layout_form import NAME, BadInput, label_problems, whole

#: a column or sort path: field names joined by dots
PATH = re.compile(r"^[a-z][a-z0-9_]{0,62}(\.[a-z][a-z0-9_]{0,62}){0,4}$")
MAX_COLUMNS = 40
MAX_SORTS = 10
MAX_FILTER = 4000
#: system fields a list may show or sort by
SYSTEM_COLUMNS = ("created_at", "updated_at", "owner_id", "created_by", "updated_by", "id")
#: field types that make no column
NOT_COLUMNS = frozenset({"json"})


@dataclass
class ViewState:
    """A list view being edited, and the overlay document version it was read at."""

    name: str
    en: str
    zh: str
    columns: list[str]
    sort: list[tuple[str, str]]          # (path, "asc" | "desc")
    filter_text: str
    kanban_field: str
    default: bool
    version: int
    #: the form's sort row each sort came from (problems are shown beside it)
    sort_rows: list[int] = field(default_factory=list)


def view_of(view: ListViewDef, version: int) -> ViewState:
    """A list view of the registry as the editor shows it."""
    labels = view.label.values
    sort = [(key[1:], "desc") if key.startswith("-") else (key, "asc") for key in view.sort]
    return ViewState(view.name, labels.get("en", ""), labels.get("zh-CN", ""), list(view.columns), sort,
                     filter_text(view.filter) if view.filter is not None else "", view.kanban_field or "",
                     view.default, version, list(range(len(sort))))


def blank_view(obj: ObjectDef, version: int) -> ViewState:
    return ViewState("", "", "", [obj.name_field] if obj.name_field in obj.fields else [], [], "", "", False, version)


def read_view(form: MultiDict[str, str], obj: ObjectDef, name: str | None) -> ViewState:
    """The view the editor's form holds (``name``: the view's, when it exists already).
    Raises BadInput for what the editor never sends."""
    version = whole(form.get("version"), "version")
    texts = [form.get(key) for key in ("label_en", "label_zh", "filter")]
    if any(text is None for text in texts) or (name is None and form.get("name") is None):
        raise BadInput("the list view form is incomplete")
    columns = form.getlist("column")
    if len(columns) > MAX_COLUMNS or any(not PATH.match(c) for c in columns) or len(set(columns)) != len(columns):
        raise BadInput("bad columns")
    paths, directions = form.getlist("sort_path"), form.getlist("sort_dir")
    if len(paths) != len(directions) or len(paths) > MAX_SORTS + 1:
        raise BadInput("bad sort")
    sort, rows = [], []
    for index, (path, direction) in enumerate(zip(paths, directions, strict=True)):
        if direction not in ("asc", "desc") or (path and not PATH.match(path)):
            raise BadInput("bad sort")
        if path:
            sort.append((path, direction))
            rows.append(index)
    kanban = form.get("kanban_field", "")
    if kanban and kanban not in board_fields(obj):
        raise BadInput("bad board field")
    en, zh, filter_ = (str(text).strip() for text in texts)
    if len(filter_) > MAX_FILTER:
        raise BadInput("the filter is too long")
    view_name = name if name is not None else str(form.get("name", "")).strip()
    return ViewState(view_name, en, zh, list(columns), sort, filter_, kanban, form.get("default") == "1", version, rows)


# ------------------------------------------------------------------------------ the buttons

def edit_view(state: ViewState, op: str, form: Mapping[str, str], scope: RegistryScope) -> dict[str, str]:
    """Make the edit a button asks for (``col_up:2``, ``col_add``, ...); notes by input name."""
    verb, _sep, arg = op.partition(":")
    columns = state.columns
    if verb in ("col_up", "col_down", "col_remove"):
        if not arg.isdigit() or int(arg) >= len(columns):
            raise BadInput("no such column")
        index = int(arg)
        if verb == "col_remove":
            columns.pop(index)
        else:
            other = index - 1 if verb == "col_up" else index + 1
            if 0 <= other < len(columns):
                columns[other], columns[index] = columns[index], columns[other]
    elif verb == "col_add":
        path = (form.get("add_path") or "").strip() or (form.get("add_column") or "").strip()
        if not path:
            return {"add_column": _("Choose a field or type a path such as account.name.")}
        problem = path_problem(scope, path, stored=False)
        if problem:
            return {"add_column": problem}
        if path in columns:
            return {"add_column": _("“%(path)s” is a column already.", path=path)}
        if len(columns) >= MAX_COLUMNS:
            return {"add_column": _("A list view has at most %(num)s columns.", num=MAX_COLUMNS)}
        columns.append(path)
    elif verb not in ("refresh", "save"):
        raise BadInput(f"unknown edit '{op}'")
    return {}


# ------------------------------------------------------------------------------ checking and writing

def view_problems(state: ViewState, obj: ObjectDef, scope: RegistryScope, *, new: bool) -> dict[str, str]:
    """What the editor can say before the plan, by input name."""
    problems: dict[str, str] = {}
    if new:
        if not NAME.match(state.name):
            problems["name"] = _("Use lowercase letters, digits and underscores, starting with a letter.")
        elif state.name in obj.list_views:
            problems["name"] = _("There is a list view called “%(name)s” already.", name=state.name)
    problems.update(label_problems("label_en", state.en, "label_zh", state.zh))
    if not state.columns:
        problems["columns"] = _("Add at least one column.")
    bad = [f"{path}: {problem}" for path in state.columns if (problem := path_problem(scope, path, stored=False))]
    if bad:
        problems["columns"] = "; ".join(bad)
    for row, (path, _direction) in zip(state.sort_rows, state.sort, strict=True):
        problem = path_problem(scope, path, stored=True)
        if problem:
            problems[f"sort-{row}"] = problem
    _data, problem = filter_data_of(scope, state.filter_text)
    if problem:
        problems["filter"] = problem
    return problems


def path_problem(scope: RegistryScope, path: str, *, stored: bool) -> str | None:
    """Why ``path`` cannot be a column (or, ``stored``, a sort key) of the object; None if it can."""
    if not PATH.match(path):
        return _("“%(path)s” is not a field path (fields joined by dots, such as account.name).", path=path)
    try:
        found = scope.field_at(tuple(path.split(".")))
    except LookupError as exc:
        return str(in_locale(exc.args[0], current_locale())) if exc.args else _("There is no field “%(path)s”.", path=path)
    if stored and not found.stored:
        return _("“%(path)s” is computed when read, so it cannot be sorted on.", path=path)
    return None


def view_data(state: ViewState, filter_data: Mapping[str, Any] | None) -> dict[str, Any]:
    """The view as metadata (a list view replaces the package's view of its name whole)."""
    data: dict[str, Any] = {"label": {"en": state.en, "zh-CN": state.zh}, "columns": list(state.columns)}
    if state.sort:
        data["sort"] = [("-" if direction == "desc" else "") + path for path, direction in state.sort]
    if filter_data:
        data["filter"] = dict(filter_data)
    if state.kanban_field:
        data["kanban_field"] = state.kanban_field
    if state.default:
        data["default"] = True
    return data


def definition_data(view: ListViewDef) -> dict[str, Any]:
    """A compiled list view back as metadata (to write another view's ``default: false``)."""
    state = view_of(view, 0)
    return view_data(state, filter_data(view.filter) if view.filter is not None else None)


def problem_input(path: Sequence[Any], view: str, sort_rows: Sequence[int]) -> str | None:
    """The editor input a metadata problem at ``path`` (inside the object) belongs beside."""
    if len(path) < 4 or tuple(path[:3]) != ("layouts", "list_views", view):
        return None
    key = path[3]
    if key == "label":
        return "label_zh" if tuple(path[4:5]) == ("zh-CN",) else "label_en"
    if key == "sort" and len(path) > 4 and isinstance(path[4], int) and path[4] < len(sort_rows):
        return f"sort-{sort_rows[path[4]]}"
    return key if key in ("columns", "filter", "kanban_field", "default") else None


# ------------------------------------------------------------------------------ choices

def board_fields(obj: ObjectDef) -> list[FieldDef]:
    """Picklists a view may show as a board."""
    return [f for f in obj.fields.values() if f.type == "picklist" and f.active]


def column_choices(obj: ObjectDef, registry: Any, taken: Sequence[str]) -> list[tuple[str, FieldDef, str | None]]:
    """(path, field, target label) for the add-a-column list: the object's fields, the name of
    each lookup's record (``account.name``), and the system fields."""
    choices = []
    for candidate in obj.fields.values():
        if candidate.system or not candidate.active or candidate.type in NOT_COLUMNS:
            continue
        choices.append((candidate.name, candidate, None))
        target = registry.objects.get(candidate.target) if candidate.target else None
        if target is not None and target.name_field in target.fields:
            choices.append((f"{candidate.name}.{target.name_field}", candidate, target.name_field))
    choices += [(name, obj.fields[name], None) for name in SYSTEM_COLUMNS if name in obj.fields]
    return [choice for choice in choices if choice[0] not in taken]


def sort_choices(obj: ObjectDef) -> list[FieldDef]:
    """Fields a view may sort by: stored, active, not JSON."""
    own = [f for f in obj.fields.values() if not f.system and f.stored and f.active and f.type not in NOT_COLUMNS]
    return own + [obj.fields[name] for name in SYSTEM_COLUMNS if name in obj.fields]


# ------------------------------------------------------------------------------ the filter

def filter_data_of(scope: RegistryScope, text: str) -> tuple[dict[str, Any] | None, str | None]:
    """A filter typed in the query-string syntax as metadata data, or the problem with it."""
    items: list[tuple[str, str]] = []
    for piece in re.split(r"[&\r\n]+", text):
        piece = piece.strip()
        if not piece:
            continue
        name, sep, value = piece.partition("=")
        if not sep or not name.strip():
            return None, _("“%(piece)s” is not a condition: write field=value or field__operator=value.",
                           piece=piece)
        items.append((unquote(name.strip()), unquote(value.strip())))
    if not items:
        return None, None
    try:
        parse_query_filters(scope, items)
    except QueryError as exc:
        return None, "; ".join(_("%(name)s: %(problem)s", name=name, problem="; ".join(messages))
                               for name, messages in exc.messages(current_locale()).items())
    pieces: list[dict[str, Any]] = []
    for name, value in items:
        if name == "filter":
            pieces.append(json.loads(value, parse_float=Decimal))
        else:
            condition = parse_query_filters(scope, [(name, value)])
            assert isinstance(condition, Condition)
            pieces.append({name: condition.value})
    return _merged(pieces), None


def _merged(pieces: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for piece in pieces:
        if merged.keys() & piece.keys():  # the same key twice: all of them must hold
            return {"and": pieces}
        merged.update(piece)
    return merged


def filter_data(parsed: Filter) -> dict[str, Any]:
    """A parsed filter back as the metadata mapping it was read from."""
    if isinstance(parsed, Condition):
        key = parsed.field if parsed.op == "eq" else f"{parsed.field}__{parsed.op}"
        value = list(parsed.value) if isinstance(parsed.value, list | tuple) else parsed.value
        return {key: value}
    parts = [filter_data(item) for item in parsed.items]
    if parsed.kind == "not":
        return {"not": parts[0]}
    if parsed.kind == "and":
        return _merged(parts)
    return {"or": parts}


def filter_text(parsed: Filter) -> str:
    """A parsed filter in the query-string syntax: plain conditions as ``key=value``, groups
    (and values a comma would split) as one ``filter=<JSON>``."""
    plain, grouped = [], {}
    for key, value in filter_data(parsed).items():
        text = _plain_text(value) if key not in ("and", "or", "not") else None
        if text is None:
            grouped[key] = value
        else:
            plain.append(f"{_quoted(key)}={_quoted(text)}")
    if grouped:
        plain.append("filter=" + _quoted(dumps_json(grouped)))
    return "&".join(plain)


def _plain_text(value: Any) -> str | None:
    if isinstance(value, list):
        texts = [_scalar_text(item) for item in value]
        if not texts or any(t is None or "," in t for t in texts):
            return None
        return ",".join(t for t in texts if t is not None)
    return _scalar_text(value)


def _scalar_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal | str):
        return str(value)
    return None


def _quoted(text: str) -> str:
    return text.replace("%", "%25").replace("&", "%26").replace("\r", "%0D").replace("\n", "%0A")
