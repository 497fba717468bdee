"""Kanban boards: ``/o/<object>/kanban?group=<picklist>`` shows a column per option with the
records as cards (the same list data as the table: :func:`tessera.web.listing.load_list`, one
page per column). Dragging a card (SortableJS) or choosing "Move to" posts the new value; the
record service validates the change like any other write, and a refused card comes back with
its reasons and returns to the column it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from tessera.app import current_records
from tessera.i18n import current_locale
from tessera.metadata.model import FieldDef, ListViewDef, ObjectDef
from tessera.records.errors import RecordError
from tessera.security.web import current_actor, login_required_actor
from tessera.storage.query import Count

from .display import SAFE_COLOR
from .feedback import problem_lines
from .listing import (ALL_VIEW, ListResult, attach_refs, available_views, canonical_args, columns_of, load_list,
                      query_fields)
from .lists import cells
from .shell import error_page, readable_object, vary_on_htmx, wants_fragment

bp = Blueprint("kanban", __name__)

#: cards shown per column (the column's count says how many there are)
CARDS_PER_COLUMN = 25
#: the value of the column holding records with no value
BLANK = ""


@dataclass
class Card:
    id: int
    version: int
    value: str
    title: Markup | str
    details: list[tuple[str, Markup | str]]
    problems: list[str] = field(default_factory=list)


@dataclass
class KanbanColumn:
    value: str
    label: str
    color: str | None
    cards: list[Card]
    count: Count | None


@bp.get("/o/<object_name>/kanban")
@login_required_actor
def board(object_name: str) -> Any:
    obj = readable_object(object_name)
    locale = current_locale()
    groups = group_fields(obj)
    group = _group(obj, groups)
    if group is None:
        asked = request.args.get("group")
        detail = (_("“%(name)s” is not a picklist field a board can be grouped by.", name=asked) if asked and groups
                  else _("%(object)s has no picklist field to group a board by.", object=obj.plural_label(locale)))
        return error_page(400, _("No board for this list"), detail)
    args = _board_args(obj, group)
    columns: list[KanbanColumn] = []
    errors: dict[str, str] = {}
    with current_records().unit_of_work(current_actor()) as work:
        can_edit = work.access.allows(obj.name, "edit") and group.name not in work.access.read_only(obj.name)
        views = available_views(obj, work.access.hidden(obj.name), locale)
        for value, label, color in options(group, locale):
            result = load_list(work, obj, _with_column(args, group, value), locale, limit=CARDS_PER_COLUMN)
            if result.errors:
                errors = result.errors
                break
            columns.append(KanbanColumn(value, label, color, _cards(result, group, locale, value), result.count))
    context = dict(obj=obj, group=group, groups=groups, columns=columns, errors=errors, views=views,
                   move_options=options(group, locale),
                   view_name=args.get("view"), can_edit=can_edit, state=urlencode(list(args.items(multi=True))),
                   search=args.get("q", ""), list_url=_list_url(obj, args))
    template = "kanban/_board.html" if wants_fragment() else "kanban.html"
    response = current_app.make_response((render_template(template, **context), 400 if errors else 200))
    return vary_on_htmx(response)


@bp.post("/o/<object_name>/kanban/move")
@login_required_actor
def move(object_name: str) -> Any:
    """Set the card's group field to the column it was dropped on; the card comes back (in its
    new column, or with the reasons it was refused and the value it keeps)."""
    obj = readable_object(object_name)
    locale = current_locale()
    group = next((f for f in group_fields(obj) if f.name == request.form.get("group")), None)
    record_id, version = request.form.get("id", ""), request.form.get("version", "")
    if group is None or not record_id.isdigit():
        return error_page(400, _("The card could not be moved"), _("Reload the board and try again."))
    value = request.form.get("value", BLANK)
    origin = request.form.get("origin", BLANK)
    state = MultiDict(parse_qsl(request.form.get("state", "")))
    problems: list[str] = []
    status = 200
    try:
        current_records().update(obj.name, int(record_id), {group.name: value or None},
                                 version=int(version) if version.isdigit() else None, actor=current_actor())
    except RecordError as exc:  # nothing was written: the card keeps its value
        problems, status = problem_lines(exc, obj, locale), exc.status
    card = load_card(obj, group, state, int(record_id), locale)
    if card is None:  # gone, or no longer this user's to see
        return error_page(404, _("Not found"), _("This record no longer exists or is not yours to see."))
    card.problems = problems
    moved = not problems and card.value != origin
    html = render_template("kanban/_card.html", obj=obj, group=group, card=card, move_options=options(group, locale),
                           can_edit=status != 403, moved_from=origin if moved else None, refused=bool(problems),
                           origin=origin)
    return current_app.make_response((html, status))


def load_card(obj: ObjectDef, group: FieldDef, state: MultiDict[str, str], record_id: int, locale: str) -> Card | None:
    """One card as the board shows it, read without the board's filter (a moved card may no
    longer match it, and stays where it was put until the board is reloaded)."""
    with current_records().unit_of_work(current_actor()) as work:
        view = _view_of(obj, state.get("view"))
        columns = columns_of(obj, work.service.registry, view.columns if view else (obj.name_field,),
                             work.access.hidden_by_object or {}, locale)
        fields = [*query_fields(obj, columns), group.name]
        page = work.query(obj.name, filter={"id": record_id}, fields=fields, limit=1)
        if not page.rows:
            return None
        attach_refs(work, obj, page.rows, columns)
    result = ListResult(obj, view or ListViewDef(ALL_VIEW, obj.plural_label, ()), [], columns, state, [], (), "",
                        None, rows=page.rows)
    return _cards(result, group, locale)[0]


# ------------------------------------------------------------------------------ helpers

def group_fields(obj: ObjectDef) -> list[FieldDef]:
    """Picklists a board can be grouped by: stored, active, visible to this user."""
    from .shell import access

    hidden = access().hidden(obj.name)
    return [f for f in obj.fields.values()
            if f.type == "picklist" and f.stored and f.active and f.name not in hidden]


def options(group: FieldDef, locale: str) -> list[tuple[str, str, str | None]]:
    """The board's columns: each active option, then "No value" when the field may be blank."""
    found = [(o.value, o.label(locale), o.color if o.color and SAFE_COLOR.match(o.color) else None)
             for o in group.options if o.active]
    if not group.required:
        found.append((BLANK, _("No value"), None))
    return found


def _group(obj: ObjectDef, groups: list[FieldDef]) -> FieldDef | None:
    asked = request.args.get("group")
    if asked:
        return next((f for f in groups if f.name == asked), None)
    view = obj.list_views.get(request.args.get("view") or "")
    board_views = [view] if view is not None and view.kanban_field else \
        [v for v in obj.list_views.values() if v.kanban_field]
    for candidate in board_views:
        found = next((f for f in groups if f.name == candidate.kanban_field), None)
        if found is not None:
            return found
    return groups[0] if groups else None


def _board_args(obj: ObjectDef, group: FieldDef) -> MultiDict[str, str]:
    """The URL's list state, with the board's view: the one asked for, else the metadata board
    grouped by this field, else every record."""
    args = canonical_args(request.args)
    if not args.get("view"):
        view = next((v for v in obj.list_views.values() if v.kanban_field == group.name), None)
        args.add("view", view.name if view is not None else ALL_VIEW)
    args.add("group", group.name)
    return args


def _view_of(obj: ObjectDef, name: str | None) -> ListViewDef | None:
    from .shell import access

    views = available_views(obj, access().hidden(obj.name), current_locale())
    return next((v for v in views if v.name == name), None)


def _with_column(args: MultiDict[str, str], group: FieldDef, value: str) -> MultiDict[str, str]:
    out = MultiDict(args)
    if value == BLANK:
        out.add(f"{group.name}__is_blank", "true")
    else:
        out.add(group.name, value)
    return out


def _list_url(obj: ObjectDef, args: MultiDict[str, str]) -> str:
    """The board's list, same search and filters (a board view has no table: the list opens
    the default view)."""
    view = obj.list_views.get(args.get("view") or "")
    drop = {"group", "view"} if view is not None and view.kanban_field else {"group"}
    query = urlencode([(key, value) for key, value in args.items(multi=True) if key not in drop])
    base = url_for("lists.list_view", object_name=obj.name)
    return f"{base}?{query}" if query else base


def _cards(result: ListResult, group: FieldDef, locale: str, value: str | None = None) -> list[Card]:
    """The rows as cards; ``value`` is the column's (else each row's own group value)."""
    rendered = cells(result, locale)
    name_path = result.object.name_field
    cards = []
    for row, line in zip(result.rows, rendered, strict=True):
        title: Markup | str = Markup('<a href="/o/{0}/{1}">#{1}</a>').format(result.object.name, row["id"])
        details: list[tuple[str, Markup | str]] = []
        for column, cell in zip(result.columns, line, strict=True):
            if column.path == name_path:
                title = cell
            elif column.path != group.name and cell != "":
                details.append((column.label, cell))
        shown = value if value is not None else (row.get(group.name) or BLANK)
        cards.append(Card(row["id"], row.get("version") or 0, shown, title, details))
    return cards

