"""The app shell: navigation from the metadata apps, the home page, global search, the
notifications badge and the error pages every screen shares.

* **Navigation** (:func:`navigation`): one menu per metadata ``app`` (``apps/*.yaml``, in their
  ``order``), listing only the objects the signed-in user may read (the record service's access
  policy decides), dashboards once their screen exists, plugin menu entries
  (``tessera_menu_entries``) and, for admins, an Admin menu. Built lazily: only full pages pay
  for it, never htmx fragments.
* **Notifications** (:func:`unread_notifications`): the bell counts the user's unread in-app
  notifications (flows' ``notify`` step, plugins) and links to ``/notifications``.
* **Due today** (:func:`due_activities`): the home page counts the user's *planned activities
  due today or overdue* (``activity`` with ``owner_id = $me``, ``status = planned``,
  ``start_at <= today``), the L2C follow-up to-do list, and links to that list. Orgs without
  the activity object show no count.
* **Global search** (``/search?q=``): every object the user may read, through the record
  service's ``search`` (its ``search_fields``; hidden fields are never searched nor shown).
* **Errors**: 403, 404 and bad requests render a page in the shell (never a traceback).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import Blueprint, current_app, g, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from tessera.app import current_records, current_registry
from tessera.i18n import current_locale
from tessera.metadata.model import ObjectDef
from tessera.metadata.scope import RegistryScope
from tessera.records.errors import RecordError, RecordNotFound, UnknownObject
from tessera.security.permissions import PermissionDenied
from tessera.security.web import current_actor, login_required_actor

from .listing import searchable


bp = Blueprint("shell", __name__)

#: how many records global search shows per object
SEARCH_PER_OBJECT = 5
#: the badges count up to this and then say "99+"
BADGE_CAP = 99
#: the filter of the home page's "due today" count, in the list URL's query-string form
DUE_ACTIVITIES = {"owner_id": "$me", "status": "planned", "start_at__lte": "$today"}


# ------------------------------------------------------------------------------ shared helpers

def wants_fragment() -> bool:
    """An htmx request asking for a fragment (a history restore needs the whole page)."""
    htmx = current_app.htmx  # type: ignore[attr-defined]
    return bool(htmx) and not htmx.history_restore_request


def vary_on_htmx(response: Any) -> Any:
    """The same URL answers a fragment or a page, so caches must key on HX-Request."""
    response.vary.add("HX-Request")
    return response


def readable_object(object_name: str) -> ObjectDef:
    """The object ``object_name`` if the signed-in user may read it: 404 when there is no such
    (active) object, 403 when the user's role may not read it."""
    registry = current_registry()
    obj = registry.objects.get(object_name)
    if obj is None or not obj.active:
        raise UnknownObject(object_name)
    access().require(obj.name, "read")
    return obj


def access() -> Any:
    """The signed-in user's access (the record service's policy), once per request."""
    found = g.get("_tessera_access")
    if found is None:
        found = current_records().policy.access(current_actor())
        g._tessera_access = found
    return found


def object_url(obj: ObjectDef, **args: Any) -> str:
    return url_for("lists.list_view", object_name=obj.name, **args)


# ------------------------------------------------------------------------------ navigation

@dataclass
class NavEntry:
    label: str
    url: str
    object: str | None = None


@dataclass
class NavMenu:
    name: str
    label: str
    icon: str | None
    entries: list[NavEntry] = field(default_factory=list)
    active: bool = False


def navigation() -> list[NavMenu]:
    """The signed-in user's menus (cached for the request)."""
    cached = g.get("_tessera_nav")
    if cached is not None:
        return cached
    menus: list[NavMenu] = []
    actor = current_actor()
    if actor is not None:
        menus = list(_menus(actor))
    g._tessera_nav = menus
    return menus


def _menus(actor: Any) -> Iterator[NavMenu]:
    registry = current_registry()
    locale = current_locale()
    current = (request.view_args or {}).get("object_name")
    who = access()
    apps = sorted(registry.apps.values(), key=lambda app: (app.data.get("order", 1000), app.name))
    for app in apps:
        menu = NavMenu(app.name, app.label(locale), app.data.get("icon"))
        for item in app.data.get("menu", ()):
            entry = _entry(registry, who, item, locale)
            if entry is not None:
                menu.entries.append(entry)
                menu.active = menu.active or (entry.object is not None and entry.object == current)
        if menu.entries:
            yield menu
    extra = _plugin_entries(actor, locale)
    if extra:
        yield NavMenu("plugins", _("More"), None, extra)
    if who.unrestricted and actor.role is not None:
        yield NavMenu("admin", _("Admin"), "settings", [
            NavEntry(_("Builder"), url_for("admin.home")),
            NavEntry(_("Objects and metadata"), url_for("shell.metadata_overview")),
            NavEntry(_("Background jobs"), url_for("jobs.job_list")),
            NavEntry(_("API documentation"), url_for("api.docs")),
        ], active=request.endpoint in ("shell.metadata_overview", "jobs.job_list")
            or (request.endpoint or "").startswith("admin."))


def _entry(registry: Any, who: Any, item: dict[str, Any], locale: str) -> NavEntry | None:
    object_name = item.get("object")
    if object_name:
        obj = registry.objects.get(object_name)
        if obj is None or not obj.active or not who.allows(object_name, "read"):
            return None
        return NavEntry(obj.plural_label(locale), object_url(obj), obj.name)
    dashboard = item.get("dashboard")
    if dashboard and dashboard in registry.dashboards and _has_route(f"/dashboards/{dashboard}"):
        return NavEntry(registry.dashboards[dashboard].label(locale), f"/dashboards/{dashboard}")
    return None


def _has_route(path: str) -> bool:
    try:
        current_app.url_map.bind("").match(path, method="GET")
    except HTTPException:
        return False
    return True


def _plugin_entries(actor: Any, locale: str) -> list[NavEntry]:
    plugins = current_app.extensions.get("tessera.plugins")
    if plugins is None:
        return []
    found = []
    for answer in plugins.pm.hook.tessera_menu_entries(actor=actor, org=actor.org):
        found.extend(answer or ())
    found.sort(key=lambda entry: (entry.order, entry.name))
    return [NavEntry(entry.label.get(locale) or entry.label.get("en") or entry.name, entry.url) for entry in found]


# ------------------------------------------------------------------------------ notifications

@dataclass
class Counted:
    count: int
    capped: bool
    url: str

    @property
    def shown(self) -> str:
        return f"{self.count}+" if self.capped else str(self.count)


def unread_notifications() -> Counted | None:
    """The bell: the user's unread notifications (None before the database is deployed)."""
    if "_tessera_bell" in g:
        return g._tessera_bell
    g._tessera_bell = None
    actor = current_actor()
    if actor is None:
        return None
    from tessera import notifications

    try:
        with current_records().unit_of_work(actor, read_only=True) as work:
            count, capped = notifications.unread_count(work, actor.id, cap=BADGE_CAP)
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):
        return None  # an undeployed database: no bell
    g._tessera_bell = Counted(count, capped, url_for("notifications_ui.inbox"))
    return g._tessera_bell


def due_activities() -> Counted | None:
    """The user's planned activities due today or overdue (None: nothing to count)."""
    if "_tessera_badge" in g:
        return g._tessera_badge
    g._tessera_badge = found = None
    actor = current_actor()
    registry = current_registry()
    if actor is None or "activity" not in registry.objects or not access().allows("activity", "read"):
        return None
    from tessera.metadata.filters import parse_query_filters

    try:
        scope = RegistryScope.of(registry, "activity", access().hidden_by_object or None)
        due = parse_query_filters(scope, DUE_ACTIVITIES.items())
        with current_records().unit_of_work(actor) as work:
            count = work.count("activity", filter=due, cap=BADGE_CAP)
    except (RecordError, LookupError, ValueError, sa.exc.OperationalError, sa.exc.ProgrammingError):
        return None  # a changed activity object or an undeployed database: no badge
    view = "my_planned" if "my_planned" in registry.object("activity").list_views else None
    args = {"view": view} if view else {}
    args.update(DUE_ACTIVITIES)
    found = Counted(count.value, not count.exact, url_for("lists.list_view", object_name="activity", **args))
    g._tessera_badge = found
    return found


# ------------------------------------------------------------------------------ pages

@bp.get("/search")
@login_required_actor
def search() -> Any:
    """Global search: the records of every readable object whose search fields match ``q``."""
    term = (request.args.get("q") or "").strip()[:200]
    groups = _search(term) if term else []
    template = "_search_partial.html" if wants_fragment() else "search.html"
    return vary_on_htmx(current_app.make_response(render_template(template, term=term, groups=groups)))


@dataclass
class SearchGroup:
    object: ObjectDef
    label: str
    hits: list[dict[str, Any]]
    more: bool
    url: str


def _search(term: str) -> list[SearchGroup]:
    registry = current_registry()
    locale = current_locale()
    actor = current_actor()
    who = access()
    groups: list[SearchGroup] = []
    with current_records().unit_of_work(actor) as work:
        for obj in _search_order(registry):
            if not who.allows(obj.name, "read"):
                continue
            hidden = who.hidden(obj.name)
            if not searchable(obj, hidden):
                continue
            shown = [name for name in (obj.name_field, *obj.search_fields) if name not in hidden and name in obj.fields]
            try:
                page = work.query(obj.name, search=term, fields=list(dict.fromkeys(shown)), limit=SEARCH_PER_OBJECT,
                                  sort=("-updated_at",))
            except (RecordError, ValueError):
                continue  # an object that cannot be searched (no search fields visible)
            if not page.rows:
                continue
            hits = [_hit(obj, row, shown, term, locale) for row in page.rows]
            groups.append(SearchGroup(obj, obj.plural_label(locale), hits, page.next_cursor is not None,
                                      object_url(obj, q=term)))
    return groups


def _search_order(registry: Any) -> list[ObjectDef]:
    """Objects in the order their apps list them, then the rest by name."""
    seen: dict[str, ObjectDef] = {}
    for app in sorted(registry.apps.values(), key=lambda a: (a.data.get("order", 1000), a.name)):
        for item in app.data.get("menu", ()):
            obj = registry.objects.get(item.get("object") or "")
            if obj is not None and obj.active:
                seen.setdefault(obj.name, obj)
    for name in sorted(registry.objects):
        if registry.objects[name].active:
            seen.setdefault(name, registry.objects[name])
    return list(seen.values())


def _hit(obj: ObjectDef, row: dict[str, Any], shown: list[str], term: str, locale: str) -> dict[str, Any]:
    """A search result: its name, and the other search fields that matched (label, value)."""
    words = [w.lower() for w in term.split()]
    name = row.get(obj.name_field)
    matches = []
    for field_name in shown[1:]:
        value = row.get(field_name)
        if field_name != obj.name_field and isinstance(value, str) and any(w in value.lower() for w in words):
            matches.append((obj.fields[field_name].label(locale), value))
    return {"id": row["id"], "name": name if name not in (None, "") else f"#{row['id']}",
            "url": f"/o/{obj.name}/{row['id']}", "matches": matches[:3]}


@bp.get("/admin/metadata")
@login_required_actor
def metadata_overview() -> Any:
    """What the org has loaded, for admins: packages and every object with its list."""
    if not access().unrestricted:
        raise PermissionDenied("metadata", "read", current_actor())
    from .views import overview_context

    return render_template("index.html", **overview_context())


def home() -> str:
    """The signed-in user's start page: their apps, what is due, what they changed lately."""
    return render_template("home.html", menus=navigation(), badge=due_activities(), recent=_recent())


def _recent(limit: int = 8) -> list[dict[str, Any]]:
    """Records the user owns that changed most recently, across the objects of their apps."""
    registry = current_registry()
    locale = current_locale()
    objects = [entry.object for menu in navigation() for entry in menu.entries if entry.object]
    found: list[dict[str, Any]] = []
    try:
        with current_records().unit_of_work(current_actor()) as work:
            for name in dict.fromkeys(objects):
                obj = registry.objects[name]
                if obj.name_field in access().hidden(name) or not obj.fields[obj.name_field].stored:
                    continue
                page = work.query(name, filter={"owner_id": "$me"}, sort=("-updated_at",), limit=3,
                                  fields=[obj.name_field, "updated_at"])
                for row in page.rows:
                    found.append({"object": obj.label(locale), "name": row.get(obj.name_field) or f"#{row['id']}",
                                  "url": f"/o/{name}/{row['id']}", "updated_at": row["updated_at"]})
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):
        return []  # the database has not been deployed yet
    found.sort(key=lambda item: item["updated_at"], reverse=True)
    return found[:limit]


def lang_url(tag: str) -> str:
    """This page's URL in another language (its other parameters kept)."""
    args = [(key, value) for key, value in request.args.items(multi=True) if key != "lang"]
    args.append(("lang", tag))
    return f"{request.path}?{urlencode(args)}"


# ------------------------------------------------------------------------------ errors

def error_page(status: int, title: str, detail: str) -> Any:
    template = "shell/_error_partial.html" if wants_fragment() else "shell/error.html"
    return render_template(template, status=status, title=title, detail=detail), status


def _not_found(exc: Exception) -> Any:
    if request.blueprint == "api":
        return _api_problem(exc)
    return error_page(404, _("Not found"), _("There is no such page or record, or it is not yours to see."))


def _forbidden(exc: Exception) -> Any:
    if request.blueprint == "api":
        return _api_problem(exc)
    return error_page(403, _("Not allowed"), _("Your role may not see this. Ask an administrator if you need it."))


def _api_problem(exc: Exception) -> Any:
    """The API answers its own errors as problem documents (its blueprint handlers); an
    app-wide status-code handler would otherwise win over them."""
    from tessera.api.problems import http_problem, record_problem

    if isinstance(exc, RecordError):
        return record_problem(exc, current_locale())
    return http_problem(exc, current_locale())


def init_app(app: Any) -> None:
    """Register the shell's blueprint, its template helpers and the HTML error pages."""
    app.register_blueprint(bp)
    app.context_processor(lambda: {"shell_navigation": navigation, "shell_notifications": unread_notifications,
                                   "lang_url": lang_url})
    app.register_error_handler(404, _not_found)
    app.register_error_handler(403, _forbidden)
    app.register_error_handler(UnknownObject, _not_found)
    app.register_error_handler(RecordNotFound, _not_found)
    app.register_error_handler(PermissionDenied, _forbidden)
