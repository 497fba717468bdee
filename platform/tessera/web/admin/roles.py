"""``/admin/roles``: roles and their permissions — per role the object permission matrix
(objects × the verbs of the role schema) and per object the field-level security (read only,
hidden) — and new roles.

A save writes the overlay's role document through the builder's plan → apply path. By the
merge rules a role's ``objects`` and ``fields`` are each replaced whole by a later layer, so the
document holds the whole matrix (or the whole field map) when it differs from the package's
role, and leaves it out when it is the package's again; ``label`` is always there because the
role schema requires it. Rows of objects the role does not name follow its ``*`` row; they stay
unnamed unless their boxes are changed. Admin roles are unrestricted: no matrix to edit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import abort, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tessera.app import current_registry
from tessera.i18n import current_locale
from tessera.metadata.model import OBJECT_PERMISSIONS, RoleDef
from tessera.security.web import current_actor

from . import bp, section
from .changes import Pending, _refused, overlay_data, propose, version_of
from .packages import overlay_change, packaged, stale

VERBS = OBJECT_PERMISSIONS
VERB_LABELS = {"create": _l("Create"), "read": _l("Read"), "edit": _l("Edit"), "delete": _l("Delete"),
               "view_all": _l("View all"), "modify_all": _l("Modify all"), "import": _l("Import"),
               "export": _l("Export")}
LEVELS = {"read_only": _l("Read only"), "hidden": _l("Hidden")}
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
#: fields whose access every reader needs (the record's identity)
_FIXED_FIELDS = ("id", "version")


def _role_or_404(name: str) -> RoleDef:
    role = current_registry().roles.get(name)
    if role is None:
        abort(404)
    return role


def _listed(perms: frozenset[str]) -> list[str]:
    return [verb for verb in VERBS if verb in perms]


def _document(role: RoleDef) -> dict[str, Any]:
    """The values of ``role`` as its document holds them (what an overlay compares with)."""
    return {"label": dict(role.label.values), "objects": {k: _listed(v) for k, v in role.objects.items()},
            "fields": {f"{obj}.{field}": level for (obj, field), level in role.fields.items()}}


def _save(role: RoleDef, key: str, value: dict[str, Any], summary: str, back: str) -> Any:
    """Propose the role document with ``key`` (objects or fields) set to ``value`` — or left
    out when the package's role has the same."""
    data = overlay_data("role", role.name)
    package = packaged("role", role.name).roles.get(role.name)
    base = _document(package) if package is not None else None
    if base is not None and _same(base.get(key), value):
        data.pop(key, None)
    else:
        data[key] = value
    change = overlay_change("role", role.name, data, base, ("label",))
    return propose(Pending([change], {("role", role.name): int(request.form["version"])}, summary, back))


def _same(a: Any, b: Any) -> bool:
    """Equal as permissions: the order of objects, fields and verbs means nothing."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return sorted(map(str, a)) == sorted(map(str, b))
    return a == b


def _refuse_admin(role: RoleDef, back: str) -> Any:
    return _refused(_("%(role)s is an administrator role: it may do everything, so there is nothing to edit.",
                      role=role.label(current_locale())), back)


# ------------------------------------------------------------------------------ the list

@bp.get("/roles", endpoint="roles")
def roles_list() -> Any:
    locale = current_locale()
    registry = current_registry()
    counts: dict[str, int] = {}
    for user in current_app.extensions["tessera.platform"].users(current_actor().org):
        if user.active:
            counts[user.role] = counts.get(user.role, 0) + 1
    changed = {doc.name for doc in _overlay_roles()}
    def above(role: RoleDef) -> str | None:
        found = registry.roles.get(role.reports_to) if role.reports_to else None
        return found.label(locale) if found is not None else role.reports_to

    rows = [{"name": r.name, "label": r.label(locale), "admin": r.admin, "package": r.package, "reports_to": above(r),
             "users": counts.get(r.name, 0), "changed": r.name in changed,
             "objects": sum(1 for k, v in r.objects.items() if v and k != "*"),
             "star": _listed(r.objects.get("*", frozenset()))}
            for r in sorted(registry.roles.values(), key=lambda r: r.label(locale))]
    return render_template("admin/roles/index.html", roles=rows, verb_labels=VERB_LABELS)


def _overlay_roles() -> list[Any]:
    from . import metadata

    return [doc for doc in metadata().documents() if doc.kind == "role"]


# ------------------------------------------------------------------------------ object matrix

@bp.get("/roles/<name>", endpoint="roles_edit")
def roles_edit(name: str) -> Any:
    role = _role_or_404(name)
    locale = current_locale()
    registry = current_registry()
    star = role.objects.get("*", frozenset())
    rows = [{"key": "*", "label": _("Every other object"), "named": "*" in role.objects, "perms": star, "fields": 0}]
    for obj in sorted(registry.objects.values(), key=lambda o: o.label(locale)):
        rows.append({"key": obj.name, "label": obj.label(locale), "named": obj.name in role.objects,
                     "perms": role.permissions(obj.name),
                     "fields": sum(1 for (o, _f) in role.fields if o == obj.name)})
    return render_template("admin/roles/edit.html", role=role, role_label=role.label(locale), rows=rows,
                           verbs=[(v, VERB_LABELS[v]) for v in VERBS], version=version_of("role", name),
                           has_star="*" in role.objects, changed=bool(overlay_data("role", name)))


@bp.post("/roles/<name>", endpoint="roles_save")
def roles_save(name: str) -> Any:
    role = _role_or_404(name)
    back = url_for("admin.roles_edit", name=name)
    if role.admin:
        return _refuse_admin(role, back)
    conflict = stale("role", name, request.form.get("version", type=int), back)
    if conflict is not None:
        return conflict
    registry = current_registry()

    def checked(key: str) -> frozenset[str]:
        return frozenset(verb for verb in VERBS if request.form.get(f"perm:{key}:{verb}"))

    star_before = role.objects.get("*", frozenset())
    objects: dict[str, frozenset[str]] = {}
    if "*" in role.objects or checked("*"):
        objects["*"] = checked("*")
    for key, perms in role.objects.items():  # the role's own order; objects not shown are kept
        if key != "*":
            objects[key] = checked(key) if key in registry.objects else perms
    for key in sorted(registry.objects):
        if key not in objects and checked(key) != star_before:  # left alone, a row follows '*'
            objects[key] = checked(key)
    value = {key: _listed(perms) for key, perms in objects.items()}
    summary = _("Object permissions of the role %(role)s", role=role.label(current_locale()))
    return _save(role, "objects", value, summary, back)


# ------------------------------------------------------------------------------ field level

def _fields_of(object_name: str) -> Any:
    obj = current_registry().objects.get(object_name)
    if obj is None:
        abort(404)
    return obj


@bp.get("/roles/<name>/fields/<object_name>", endpoint="roles_fields")
def roles_fields(name: str, object_name: str) -> Any:
    role = _role_or_404(name)
    obj = _fields_of(object_name)
    locale = current_locale()
    fields = [{"name": f.name, "label": f.label(locale), "type": f.type,
               "level": role.fields.get((obj.name, f.name), "")}
              for f in obj.fields.values() if f.name not in _FIXED_FIELDS]
    return render_template("admin/roles/fields.html", role=role, role_label=role.label(locale), obj=obj,
                           obj_label=obj.label(locale), fields=fields, levels=LEVELS,
                           version=version_of("role", name), perms=_listed(role.permissions(obj.name)),
                           verb_labels=VERB_LABELS)


@bp.post("/roles/<name>/fields/<object_name>", endpoint="roles_fields_save")
def roles_fields_save(name: str, object_name: str) -> Any:
    role = _role_or_404(name)
    obj = _fields_of(object_name)
    back = url_for("admin.roles_fields", name=name, object_name=object_name)
    if role.admin:
        return _refuse_admin(role, back)
    conflict = stale("role", name, request.form.get("version", type=int), back)
    if conflict is not None:
        return conflict

    def chosen(field: str) -> str | None:
        level = request.form.get(f"level:{field}", "")
        return level if level in LEVELS and field in obj.fields and field not in _FIXED_FIELDS else None

    levels: dict[tuple[str, str], str] = {}
    for key, level in role.fields.items():  # the role's own order; other objects' entries kept
        if key[0] != obj.name:
            levels[key] = level
        elif (new := chosen(key[1])) is not None:
            levels[key] = new
    for field in obj.fields:
        if (obj.name, field) not in levels and (new := chosen(field)) is not None:
            levels[(obj.name, field)] = new
    value = {f"{o}.{f}": level for (o, f), level in levels.items()}
    locale = current_locale()
    summary = _("Field permissions of the role %(role)s on %(object)s", role=role.label(locale),
                object=obj.label(locale))
    return _save(role, "fields", value, summary, back)


# ------------------------------------------------------------------------------ a new role

def _new_form(form: dict[str, str], errors: dict[str, str], status: int = 200) -> Any:
    locale = current_locale()
    roles = sorted(((r.name, r.label(locale)) for r in current_registry().roles.values()), key=lambda r: r[1])
    return render_template("admin/roles/new.html", form=form, errors=errors, roles=roles), status


@bp.get("/roles/_new", endpoint="roles_new")
def roles_new() -> Any:
    return _new_form({}, {})


@bp.post("/roles/_new", endpoint="roles_create")
def roles_create() -> Any:
    registry = current_registry()
    keys = ("name", "label_en", "label_zh", "copy_from", "reports_to")
    form = {key: request.form.get(key, "").strip() for key in keys}
    errors: dict[str, str] = {}
    if not _NAME.match(form["name"]):
        errors["name"] = _("Lowercase letters, digits and _, starting with a letter (at most 63).")
    elif form["name"] in registry.roles:
        errors["name"] = _("There is a role with this name already.")
    for key in ("label_en", "label_zh"):
        if not form[key]:
            errors[key] = _("Give the label in both languages.")
        elif len(form[key]) > 200:
            errors[key] = _("At most %(max)s characters.", max=200)
    for key in ("copy_from", "reports_to"):
        if form[key] and form[key] not in registry.roles:
            errors[key] = _("There is no such role.")
    if errors:
        return _new_form(form, errors, 422)
    data: dict[str, Any] = {"label": {"en": form["label_en"], "zh-CN": form["label_zh"]}}
    if form["reports_to"]:
        data["reports_to"] = form["reports_to"]
    source = registry.roles.get(form["copy_from"]) if form["copy_from"] else None
    if source is not None and source.admin:
        data["admin"] = True
    elif source is not None:
        copied = _document(source)
        data["objects"], data["fields"] = copied["objects"], copied["fields"]
    from tessera.storage.overlay import DocumentChange

    name = form["name"]
    summary = _("Add the role %(role)s", role=form["label_zh"] if current_locale() == "zh-CN" else form["label_en"])
    return propose(Pending([DocumentChange.upsert("role", name, data)], {("role", name): version_of("role", name)},
                           summary, url_for("admin.roles")))


section("admin.roles", _l("Roles and permissions"))
