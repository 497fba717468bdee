"""What every record screen needs about the request: who acts, in which org, language and time
zone; the object asked for; and how a fragment differs from a page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import abort, current_app, g, request
from markupsafe import Markup

from tessera.app import ORGS_KEY, PLUGINS_KEY
from tessera.i18n import current_locale
from tessera.metadata.filters import Condition, QueryError
from tessera.metadata.model import ObjectDef
from tessera.records.service import Actor, RecordService
from tessera.security.permissions import PermissionDenied
from tessera.web.display import Ref, current_timezone, format_value

#: the largest record id (BIGINT); larger ids in a path are simply not found
MAX_ID = 2**63 - 1


@dataclass
class Screen:
    """The signed-in user's view of their org for one request."""

    actor: Actor
    service: RecordService
    locale: str
    tz: dt.tzinfo

    @property
    def registry(self) -> Any:
        return self.service.registry

    @property
    def plugins(self) -> Any:
        return current_app.extensions[PLUGINS_KEY]

    def object(self, name: str) -> ObjectDef:
        """The object ``name``, or a 404 page."""
        obj = self.registry.objects.get(name)
        if obj is None or not obj.active:
            abort(404)
        return obj

    def work(self) -> Any:
        """A unit of work that may write (saves, actions, deletes)."""
        return self.service.unit_of_work(self.actor)

    def reading(self) -> Any:
        """A unit of work that only reads (pages, previews, type-ahead): no write lock taken."""
        return self.service.unit_of_work(self.actor, read_only=True)


def screen() -> Screen:
    """The screen of the signed-in user (views run behind ``login_required_actor``)."""
    found = g.get("_tessera_screen")
    if found is None:
        actor = g.actor
        found = Screen(actor, current_app.extensions[ORGS_KEY].for_actor(actor), current_locale(), current_timezone())
        g._tessera_screen = found
    return found


def record_id(value: int) -> int:
    if value <= 0 or value > MAX_ID:
        abort(404)
    return value


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def record_url(object_name: str, ident: int) -> str:
    return f"/o/{object_name}/{ident}"


def list_url(object_name: str, **filters: Any) -> str:
    from urllib.parse import urlencode

    query = urlencode(filters)
    return f"/o/{object_name}" + (f"?{query}" if query else "")


def record_names(work: Any, wanted: Iterable[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """The display names of records, one query per object: ``{(object, id): name}``. Records the
    user cannot see (or whose name field is hidden from them) have no name here."""
    by_object: dict[str, set[int]] = {}
    for object_name, ident in wanted:
        by_object.setdefault(object_name, set()).add(int(ident))
    names: dict[tuple[str, int], str] = {}
    registry = work.service.registry
    for object_name, ids in by_object.items():
        obj = registry.objects.get(object_name)
        if obj is None or obj.name_field not in obj.fields:
            continue
        try:
            page = work.query(object_name, filter=Condition(("id",), "in", sorted(ids)),
                              fields=[obj.name_field], limit=min(len(ids), 1000), sort=("id",))
        except (PermissionDenied, QueryError):
            continue
        for row in page.rows:
            value = row.get(obj.name_field)
            if value not in (None, ""):
                names[(object_name, row["id"])] = str(value)
    return names


def record_title(scr: Screen, work: Any, obj: ObjectDef, record: Mapping[str, Any]) -> str:
    """A record's title as plain text: its name field as people read it (a lookup's record
    name, a picklist's label), or ``#id``."""
    field = obj.fields.get(obj.name_field)
    value = record.get(obj.name_field)
    fallback = f"#{record.get('id')}"
    if field is None or value in (None, ""):
        return fallback
    if field.target and isinstance(value, int) and not isinstance(value, bool):
        value = Ref(value, record_names(work, {(field.target, value)}).get((field.target, value)), field.target)
    return Markup(format_value(field, value, scr.locale, record=record, tz=scr.tz)).striptags() or fallback


def lookup_pairs(obj: ObjectDef, record: Mapping[str, Any], names: Iterable[str]) -> set[tuple[str, int]]:
    """(target, id) of the lookups among ``names`` that ``record`` fills."""
    pairs = set()
    for name in names:
        field = obj.fields.get(name)
        value = record.get(name)
        if field is not None and field.target and not field.system and isinstance(value, int):
            pairs.add((field.target, value))
    return pairs
