"""The data of a list screen: which view, columns, filters, sort, search and page a URL asks
for, and the rows the record service returns for it. One function (:func:`load_list`) feeds the
full page, the htmx fragment, the JSON answer and the kanban board alike.

The URL is the state, in the API's query-string form, so any list can be shared::

    /o/lead?view=hot&status=pending&score__gte=50&sort=-score,name&q=acme&cursor=...

``view`` (a metadata list view, or ``all``), ``sort`` (comma-separated, ``-`` descending), ``q``
(search) and ``cursor`` (keyset page) are the list's own parameters; every other parameter is a
filter (``field`` or ``field__operator``) in the one filter syntax, added to the view's own filter.
The filter bar posts rows of ``_f`` (field), ``_op`` (operator) and ``_v`` (value), which
:func:`canonical_args` turns into that form. Hidden fields do not exist here: not as columns,
filters, sorts nor search fields (the record service's access decides what is hidden).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from tessera.expressions import FormulaType
from tessera.i18n import current_locale
from tessera.metadata.filters import OPERATORS, QueryError, combine, parse_query_filters, walk
from tessera.metadata.model import FieldDef, Label, ListViewDef, ObjectDef
from tessera.metadata.scope import RegistryScope
from tessera.storage.query import Count

from .display import USER_FIELDS, Ref, lookup_paths, user_refs

#: the list's own parameters; everything else in the query string is a filter
LIST_PARAMETERS = frozenset({"view", "sort", "q", "cursor", "lang", "_f", "_op", "_v", "group"})
#: rows per page
PAGE_SIZE = 50
#: counts are exact up to this, then "more than" (a count stops after cap + 1 rows: cheap)
COUNT_CAP = 1_000
#: the view every object has: no filter of its own
ALL_VIEW = "all"
#: how many fields a list shows when the object has no list view of its own
DEFAULT_COLUMNS = 6
#: field types that make poor columns
_NOT_COLUMNS = frozenset({"textarea", "json", "multi_picklist"})


@dataclass(frozen=True)
class Column:
    """One column: the query ``path`` (``account.name``), the field at its end, its label, the
    path to sort by (None: cannot be sorted) and, for lookups, where its link points."""

    path: str
    field: FieldDef
    label: str
    sort_key: str | None
    ref_id: str | None = None       # the path holding the id the cell links to
    ref_object: str | None = None   # the object that id belongs to
    ref_name: str | None = None     # the path holding the linked record's name


@dataclass
class ListResult:
    """Everything a list screen shows."""

    object: ObjectDef
    view: ListViewDef
    views: list[ListViewDef]
    columns: list[Column]
    args: MultiDict[str, str]
    filters: list[tuple[str, str, str]]   # (field path, operator, value text) from the URL
    sort: tuple[str, ...]
    search: str
    cursor: str | None
    rows: list[dict[str, Any]] = field(default_factory=list)
    next_cursor: str | None = None
    count: Count | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


# ------------------------------------------------------------------------------ the URL

def canonical_args(args: MultiDict[str, str]) -> MultiDict[str, str]:
    """The query string in its shareable form: filter-bar rows (``_f``/``_op``/``_v``) become
    ``field__op=value`` parameters, blanks and ``lang`` are dropped, order is kept."""
    out: MultiDict[str, str] = MultiDict()
    for key in ("view", "q", "sort"):
        value = (args.get(key) or "").strip()
        if value:
            out.add(key, value)
    for key, value in args.items(multi=True):
        if key not in LIST_PARAMETERS and value.strip() != "":
            out.add(key, value.strip())
    fields, ops, values = args.getlist("_f"), args.getlist("_op"), args.getlist("_v")
    for index, name in enumerate(fields):
        name = name.strip()
        op = (ops[index] if index < len(ops) else "eq").strip() or "eq"
        value = (values[index] if index < len(values) else "").strip()
        if not name or (value == "" and op != "is_blank"):
            continue
        out.add(name if op == "eq" else f"{name}__{op}", value or "true")
    cursor = (args.get("cursor") or "").strip()
    if cursor:
        out.add("cursor", cursor)
    return out


def filter_rows(args: MultiDict[str, str]) -> list[tuple[str, str, str]]:
    """The URL's filters as filter-bar rows: (field path, operator, value text)."""
    rows = []
    for key, value in args.items(multi=True):
        if key in LIST_PARAMETERS:
            continue
        path, _sep, op = key.partition("__")
        rows.append((path, op or "eq", value))
    return rows


def searchable(obj: ObjectDef, hidden: frozenset[str]) -> bool:
    """Whether search can look into ``obj`` for this user: its search fields (else its name
    field) that they may see are stored text (a lookup or a formula computed when read is not)."""
    names = [name for name in obj.search_fields or (obj.name_field,) if name not in hidden]
    fields = [obj.fields[name] for name in names if name in obj.fields]
    return bool(fields) and all(f.stored and f.formula_type is FormulaType.TEXT for f in fields)


# ------------------------------------------------------------------------------ views and columns

def available_views(obj: ObjectDef, hidden: frozenset[str], locale: str) -> list[ListViewDef]:
    """The object's list views this user may use (none that filters or sorts on a hidden field),
    then ``all`` unless metadata defines a view of that name."""
    views = []
    for view in obj.list_views.values():
        paths = [key.lstrip("-") for key in view.sort]
        if view.filter is not None:
            paths += [condition.field for condition in walk(view.filter)]
        if all(path.split(".")[0] not in hidden for path in paths):
            views.append(view)
    if ALL_VIEW not in obj.list_views:
        views.append(all_view(obj, views))
    return views


def all_view(obj: ObjectDef, views: Sequence[ListViewDef]) -> ListViewDef:
    """Every record: the default view's columns (or a few key fields), newest first."""
    default = next((v for v in views if v.default and not v.kanban_field), None)
    columns = default.columns if default is not None else default_columns(obj)
    plural = obj.plural_label
    label = Label({locale: _all_label(locale, plural(locale)) for locale in ("en", "zh-CN")})
    return ListViewDef(ALL_VIEW, label, columns)


def _all_label(locale: str, plural: str) -> str:
    from tessera.i18n import translate

    return translate("All %(plural)s", locale, plural=plural)


def default_columns(obj: ObjectDef) -> tuple[str, ...]:
    """The name field and a few key fields: the form's first fields, then the owner."""
    names = [obj.name_field]
    form_fields = [name for section in (obj.form.sections if obj.form else ()) for name in section.fields]
    candidates = form_fields or [f.name for f in obj.fields.values() if not f.system]
    for name in candidates:
        field_def = obj.fields.get(name)
        if field_def is None or name in names or field_def.type in _NOT_COLUMNS or not field_def.active:
            continue
        names.append(name)
        if len(names) >= DEFAULT_COLUMNS - 1:
            break
    names.append("owner_id")
    return tuple(names)


def choose_view(views: Sequence[ListViewDef], asked: str | None) -> ListViewDef | None:
    """The view asked for (None when this user has no such view), else the default table
    view, else ``all``."""
    if asked:
        return next((v for v in views if v.name == asked), None)
    tables = [v for v in views if not v.kanban_field]
    return (next((v for v in tables if v.default), None) or next((v for v in tables if v.name == ALL_VIEW), None)
            or (tables[0] if tables else None))


def columns_of(obj: ObjectDef, registry: Any, paths: Iterable[str], hidden: Mapping[str, frozenset[str]],
               locale: str) -> list[Column]:
    """The columns for ``paths`` that this user may see, with labels, sort keys and links."""
    scope = RegistryScope(registry.objects, obj.name, hidden or None)
    columns = []
    for path in paths:
        try:
            steps = scope.steps(tuple(path.split(".")))
        except LookupError:
            continue  # hidden (or no longer defined): the column is simply not there
        last_obj, last = steps[-1]
        labels = [step_field.label(locale) for _step_obj, step_field in steps]
        sort_key = path if last.stored else None
        if len(steps) > 1 and last.name == last_obj.name_field:  # account.name: the account, linked
            column = Column(path, last, " › ".join(labels[:-1]), sort_key, ref_id=path.rsplit(".", 1)[0],
                            ref_object=last_obj.name, ref_name=path)
        elif last.target and not last.system and len(steps) == 1:  # a lookup: its record's name, linked
            name_path = lookup_paths(obj, registry, [last.name], hidden).get(last.name)
            column = Column(path, last, labels[0], name_path or path, ref_id=path, ref_object=last.target,
                            ref_name=name_path)
        else:
            column = Column(path, last, " › ".join(labels), sort_key)
        columns.append(column)
    return columns


def query_fields(obj: ObjectDef, columns: Sequence[Column]) -> list[str]:
    """What to select for the columns: their paths, link ids and names, currency codes."""
    wanted = ["version", obj.name_field]
    for column in columns:
        wanted.append(column.path)
        if column.ref_id:
            wanted.append(column.ref_id)
        if column.ref_name:
            wanted.append(column.ref_name)
        code = column.field.currency_field
        if code and "." not in column.path and code in obj.fields:
            wanted.append(code)
    return list(dict.fromkeys(wanted))


# ------------------------------------------------------------------------------ the one data function

def load_list(work: Any, obj: ObjectDef, args: MultiDict[str, str], locale: str, *,
              limit: int = PAGE_SIZE, with_count: bool = True) -> ListResult:
    """The list the URL ``args`` asks for, read through the unit of work ``work`` (so the
    reader's permissions apply). Problems with the URL come back in ``errors`` (per
    parameter, for people), never as exceptions."""
    registry = work.service.registry
    hidden_all = work.access.hidden_by_object or {}
    hidden = work.access.hidden(obj.name)
    views = available_views(obj, hidden, locale)
    errors: dict[str, str] = {}
    view = choose_view(views, args.get("view"))
    if view is None:
        errors["view"] = _("There is no list view called “%(name)s”.", name=args.get("view"))
        view = choose_view(views, None)
    columns = columns_of(obj, registry, view.columns, hidden_all, locale)
    if not columns:
        columns = columns_of(obj, registry, default_columns(obj), hidden_all, locale)
    sort = tuple(part.strip() for part in (args.get("sort") or "").split(",") if part.strip()) or view.sort
    search = (args.get("q") or "").strip()
    if search and not searchable(obj, hidden):
        errors["q"] = _("%(objects)s cannot be searched; use the filters instead.", objects=obj.plural_label(locale))
    cursor = args.get("cursor") or None
    result = ListResult(obj, view, views, columns, args, filter_rows(args), sort, search, cursor, errors=errors)
    user_filter = _user_filter(registry, obj, args, hidden_all, errors)
    if errors:
        return result
    wanted = combine(view.filter, user_filter)
    try:
        page = work.query(obj.name, filter=wanted, sort=sort, fields=query_fields(obj, columns),
                          search=search or None, limit=limit, cursor=cursor)
        if with_count:
            if page.next_cursor is None and cursor is None:
                result.count = Count(len(page.rows))
            else:
                result.count = work.count(obj.name, filter=wanted, search=search or None, cap=COUNT_CAP)
    except QueryError as exc:
        result.errors.update(_query_messages(exc))
        return result
    result.rows, result.next_cursor = page.rows, page.next_cursor
    attach_refs(work, obj, result.rows, columns)
    return result


def _user_filter(registry: Any, obj: ObjectDef, args: MultiDict[str, str], hidden: Mapping[str, frozenset[str]],
                 errors: dict[str, str]) -> Any:
    """The URL's filters, each checked; problems said for people per parameter."""
    scope = RegistryScope(registry.objects, obj.name, hidden or None)
    good: list[tuple[str, str]] = []
    for key, value in args.items(multi=True):
        if key in LIST_PARAMETERS:
            continue
        path, _sep, op = key.partition("__")
        if op and op not in OPERATORS:
            errors[key] = _("“%(op)s” is not a filter operator; use one of: %(ops)s.", op=op,
                            ops=", ".join(OPERATORS))
            continue
        try:
            scope.steps(tuple(path.split(".")))
        except LookupError:
            errors[key] = _("There is no field “%(name)s” to filter on.", name=path)
            continue
        good.append((key, value))
    try:
        return parse_query_filters(scope, good)
    except QueryError as exc:
        errors.update(_query_messages(exc))
        return None


def _query_messages(exc: QueryError) -> dict[str, str]:
    """The engine's explanation of each bad parameter, under a sentence in the reader's language."""
    return {name: _("%(name)s: %(problem)s", name=name, problem="; ".join(messages))
            for name, messages in exc.messages(current_locale()).items()}


def attach_refs(work: Any, obj: ObjectDef, rows: list[dict[str, Any]], columns: Sequence[Column]) -> None:
    """Turn lookup ids into :class:`Ref` (id, name, object) and user ids into user names, so
    cells show names with links."""
    user_columns = [c.path for c in columns if c.field.system and c.field.name in USER_FIELDS and "." not in c.path]
    users = user_refs(work.actor.org) if user_columns and rows else {}
    for row in rows:
        for column in columns:
            if column.ref_id and column.ref_object:
                ref_id = row.get(column.ref_id)
                if isinstance(ref_id, Ref):
                    ref_id = ref_id.id
                if ref_id is not None:
                    name = row.get(column.ref_name) if column.ref_name else None
                    if isinstance(name, Ref):
                        name = name.name
                    row[column.path] = Ref(int(ref_id), None if name is None else str(name), column.ref_object)
        for path in user_columns:
            user_id = row.get(path)
            if user_id is not None and not isinstance(user_id, Ref):
                row[path] = users.get(user_id) or Ref(user_id, None)
