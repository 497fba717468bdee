"""``/admin/packages``: the packages the org installs, the templates it could install, and
"Install template".

A template is a package, not an overlay document, so installing one cannot go through
:class:`~tessera.storage.overlay.MetadataChanges`. It goes the way ``tessera metadata deploy
--template NAME`` goes: the org's registry is built with the template added (its overlay as
stored), the storage plan shown (the same plan ``tessera metadata diff --template NAME``
prints), and Apply makes the plan again inside one deploy transaction
(:func:`~tessera.storage.sync.deploy_transaction`) and applies it only when it is still the
plan the admin reviewed and nobody changed the overlay meanwhile. The deployment row records
the template, so the org keeps it installed; the org's registry is rebuilt at once.

This module also holds what the other editors share about packages: the org's registry as its
packages make it (:func:`package_registry`, without the stored overlay) and
:func:`overlay_change`, which writes an overlay document holding only what differs from the
package (plus the keys the document's schema requires), or removes it when nothing differs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer

from tessera.app import ORGS_KEY, current_registry
from tessera.metadata.errors import MetadataError, Problems
from tessera.metadata.loader import load_file
from tessera.metadata.model import Label
from tessera.metadata.overlay import ORG_OVERLAY
from tessera.metadata.packages import MANIFEST, find_package_roots
from tessera.security.web import current_actor
from tessera.storage.overlay import DocumentChange

from . import bp, metadata, section
from .changes import KIND_LABELS, STEP_LABELS, _copy, _refused, version_of

SALT = "tessera-admin-install"


# ------------------------------------------------------------------------------ shared helpers

def _orgs() -> Any:
    return current_app.extensions[ORGS_KEY]


def package_registry() -> Any:
    """The signed-in admin's org's registry as its packages make it — without the overlay
    stored in its database — to tell what the overlay changes (once per request)."""
    found = g.get("_tessera_package_registry")
    if found is None:
        from tessera.storage.sync import org_registry

        orgs, org = _orgs(), current_actor().org
        found = org_registry(orgs.settings, org, orgs.get(org).db, plugins=orgs.plugins, overlay=[])
        g._tessera_package_registry = found
    return found


def packaged(kind: str, name: str) -> Any:
    """A registry holding ``kind/name`` as the packages define it: the org's own registry when
    its overlay has no such document (nothing of it is the org's; no second build), else
    :func:`package_registry`."""
    return package_registry() if metadata().document(kind, name) is not None else current_registry()


def overlay_change(kind: str, name: str, data: dict[str, Any], base: Mapping[str, Any] | None,
                   required: tuple[str, ...]) -> DocumentChange:
    """The overlay document ``kind/name`` holding ``data``. When a package defines the
    document (``base``: its values), the keys its schema requires are filled from the package
    where ``data`` lacks them, and a document that would then say only what the package says
    is removed instead (the org's change is undone)."""
    if base is None:
        return DocumentChange.upsert(kind, name, data)
    extra = [key for key in data if key not in required]
    if not extra and all(_copy(data.get(key, base.get(key))) == _copy(base.get(key)) for key in required):
        return DocumentChange.remove(kind, name)
    for key in required:
        if key not in data and key in base:
            data[key] = _copy(base[key])
    ordered = {key: data[key] for key in required if key in data}
    ordered.update((key, value) for key, value in data.items() if key not in required)
    return DocumentChange.upsert(kind, name, ordered)


def stale(kind: str, name: str, read: int | None, back: str) -> Any:
    """The conflict page (409) when the form's version of ``kind/name`` is not the stored
    one any more (another admin changed it); None when it is current. A form without a
    version is refused (400)."""
    if read is None:
        return _refused(_("This form is missing the version it was made from. Open the page again."), back)
    current = version_of(kind, name)
    if current == read:
        return None
    line = _("%(kind)s %(name)s was changed by someone else (change %(by)s) after you opened it.",
             kind=KIND_LABELS.get(kind, kind), name=name, by=current or "?")
    return render_template("admin/conflict.html", lines=[line], back=back), 409


# ------------------------------------------------------------------------------ what is there

@dataclass
class PackageView:
    name: str
    version: str
    label: str
    description: str
    depends: list[str]
    extends: str | None = None


def _installed(registry: Any, locale: str) -> list[PackageView]:
    return [PackageView(p.name, p.version, p.label(locale) if p.label else p.name, p.description,
                        list(p.depends), p.extends)
            for p in registry.packages if p.name != ORG_OVERLAY]


def available(registry: Any, locale: str) -> list[PackageView]:
    """Packages found where the org's packages are looked for (the METADATA_PATH setting,
    the plugins' packages, the bundled metadata/ folder with its templates) that the org
    does not install, by name. Only the manifests are read."""
    from tessera.config import metadata_paths
    from tessera.metadata.registry import default_search_paths

    orgs = _orgs()
    installed = {p.name for p in registry.packages}
    found: dict[str, PackageView] = {}
    for path in [*metadata_paths(orgs.settings), *orgs.plugins.metadata_packages, *default_search_paths()]:
        for root in find_package_roots(Path(path)):
            manifest = load_file(root / MANIFEST, Problems())
            data = manifest.data if manifest is not None and isinstance(manifest.data, Mapping) else {}
            name = data.get("name")
            if not isinstance(name, str) or name in installed or name in found:
                continue
            label = Label.of(data["label"], name) if isinstance(data.get("label"), Mapping) else Label.of(None, name)
            depends = [str(d) for d in data.get("depends") or () if isinstance(d, str)]
            found[name] = PackageView(name, str(data.get("version", "")), label(locale),
                                      str(data.get("description") or ""), depends,
                                      data.get("extends") if isinstance(data.get("extends"), str) else None)
    return sorted(found.values(), key=lambda p: p.name)


@bp.get("/packages", endpoint="packages")
def packages_page() -> Any:
    from tessera.i18n import current_locale

    registry, locale = current_registry(), current_locale()
    return render_template("admin/packages/index.html", installed=_installed(registry, locale),
                           templates=available(registry, locale))


# ------------------------------------------------------------------------------ install

class _Stale(Exception):
    """The overlay or the database moved on since the plan was reviewed."""


@dataclass
class InstallPlan:
    template: str
    registry: Any
    storage: Any
    overlay_versions: dict[tuple[str, str], int]

    @property
    def digest(self) -> str:
        return hashlib.sha256(repr(self.storage.signature()).encode()).hexdigest()


def _plan_install(template: str) -> InstallPlan:
    """The org's registry with ``template`` added and the storage plan deploying it; reads,
    changes nothing. Raises MetadataError, PluginError, SyncError."""
    import sqlalchemy as sa

    from tessera.storage.overlay_store import OverlayRows
    from tessera.storage.sync import SyncError, org_registry, plan_sync

    orgs, org = _orgs(), current_actor().org
    db = orgs.get(org).db
    try:
        with db.engine.connect() as conn:
            documents = OverlayRows(db).read(conn)
            conn.rollback()
    except sa.exc.SQLAlchemyError as exc:
        raise SyncError(f"cannot read the overlay: {exc}") from exc
    registry = org_registry(orgs.settings, org, db, templates=[template], plugins=orgs.plugins,
                            overlay=list(documents.values()))
    return InstallPlan(template, registry, plan_sync(registry, db),
                       {key: doc.version for key, doc in documents.items()})


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=SALT)


def _template_or_404(name: str) -> PackageView:
    from flask import abort

    from tessera.i18n import current_locale

    found = next((p for p in available(current_registry(), current_locale()) if p.name == name), None)
    if found is None:
        abort(404)
    return found


def _show_plan(package: PackageView, plan: InstallPlan, *, moved: bool = False) -> Any:
    from tessera.i18n import current_locale

    locale = current_locale()
    current = current_registry()
    new_objects = [obj.label(locale) + f" ({obj.name})" for name, obj in sorted(plan.registry.objects.items())
                   if name not in current.objects]
    new_packages = [f"{p.name} {p.version}" for p in plan.registry.packages
                    if p.name not in {q.name for q in current.packages}]
    steps = [{"what": (STEP_LABELS[s.kind] % {"table": s.table}) if s.kind in STEP_LABELS else "", "words": s.words}
             for s in plan.storage.steps]
    refusals = [str(r) for r in plan.storage.refusals]
    token = _signer().dumps({"template": plan.template, "digest": plan.digest,
                             "overlay": [[k[0], k[1], v] for k, v in sorted(plan.overlay_versions.items())]})
    status = 409 if moved else 422 if refusals else 200
    return render_template("admin/packages/plan.html", package=package, steps=steps, refusals=refusals,
                           new_objects=new_objects, new_packages=new_packages, token=token, moved=moved,
                           problems=[]), status


def _problems_page(package: PackageView, exc: Exception) -> Any:
    problems = [str(p) for p in exc.problems] if isinstance(exc, MetadataError) else [str(exc)]
    return render_template("admin/packages/plan.html", package=package, steps=[], refusals=[], new_objects=[],
                           new_packages=[], token="", moved=False, problems=problems), 422


def _planned(package: PackageView, *, moved: bool = False) -> Any:
    """The plan page of installing ``package`` (or the page saying why it cannot be)."""
    from tessera.plugins import PluginError
    from tessera.storage.sync import SyncError

    try:
        plan = _plan_install(package.name)
    except (MetadataError, PluginError) as exc:
        return _problems_page(package, exc)
    except SyncError as exc:
        return _refused(str(exc), url_for("admin.packages"), 503)
    return _show_plan(package, plan, moved=moved)


@bp.post("/packages/install", endpoint="packages_install")
def install_plan() -> Any:
    return _planned(_template_or_404(request.form.get("template", "")))


@bp.post("/packages/install/apply", endpoint="packages_apply")
def install_apply() -> Any:
    """Install the reviewed template in one deploy transaction — only if the plan made in it
    is the one reviewed and the overlay is as it was then; otherwise show the plan again."""
    from tessera.plugins import PluginError
    from tessera.storage.overlay_store import OverlayRows
    from tessera.storage.sync import SyncError, SyncRefused, apply_plan_on, deploy_transaction
    from tessera.storage.sync_plan import plan_on

    back = url_for("admin.packages")
    try:
        reviewed = _signer().loads(request.form.get("change", ""))
        template = str(reviewed["template"])
        overlay = {(str(k), str(n)): int(v) for k, n, v in reviewed["overlay"]}
        digest = str(reviewed["digest"])
    except (BadSignature, KeyError, TypeError, ValueError):
        return _refused(_("This change cannot be read. Go back and make it again."), back)
    if template in {p.name for p in current_registry().packages}:
        return _refused(_("%(name)s is installed already.", name=template), back, 409)
    package = _template_or_404(template)
    orgs, org, who = _orgs(), current_actor().org, current_actor()
    db = orgs.get(org).db
    try:
        plan = _plan_install(template)
        if plan.overlay_versions != overlay or plan.digest != digest:
            raise _Stale
        with deploy_transaction(db) as conn:  # one deploy at a time; the overlay cannot move meanwhile
            if OverlayRows(db).versions(conn) != plan.overlay_versions:
                raise _Stale
            fresh = plan_on(conn, plan.registry, db)
            if hashlib.sha256(repr(fresh.signature()).encode()).hexdigest() != digest:
                raise _Stale
            result = apply_plan_on(conn, fresh, actor=f"user:{who.username or who.id}")
    except _Stale:
        return _planned(package, moved=True)
    except (MetadataError, PluginError) as exc:
        return _problems_page(package, exc)
    except SyncRefused as exc:
        return _refused("; ".join(exc.problems), back, 409)
    except SyncError as exc:
        return _refused(str(exc), back, 503)
    if result.applied:
        db.analyze(sorted(fresh.touched_tables))
    orgs.refresh(org)  # served at once here; other processes see the new deployment
    flash(_("Installed %(name)s: %(steps)s steps in one transaction (deployment %(id)s).", name=package.label,
            steps=len(result.steps), id=result.deployment_id or "-"), "success")
    return redirect(back, 303)


section("admin.packages", _l("Packages and templates"))


__all__ = ["available", "overlay_change", "package_registry", "packaged", "stale"]
