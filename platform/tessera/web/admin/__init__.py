"""``/admin``: the builder. Admins change the org's metadata overlay in the browser — objects,
fields, layouts, validation rules, flows, roles, templates — and every change goes the same way
(:mod:`.changes`): the editor builds the new overlay documents, the plan page shows what would
change (documents, the database's schema diff, problems), and Apply writes it in one
transaction with a history row that can be reverted. The change is served at once, to every
process, with no restart.

Only users whose role is unrestricted (``admin: true``) reach these pages; everyone else gets
the shell's 403 page. Every form posts with the CSRF token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app, request
from flask_babel import lazy_gettext as _l

from tessera.security.permissions import PermissionDenied
from tessera.security.web import current_actor, login_required_actor

bp = Blueprint("admin", __name__, url_prefix="/admin")


@dataclass(frozen=True)
class Section:
    endpoint: str
    label: Any  # a lazy string: said in the reader's language


#: the builder's sections, in the order of its side navigation
SECTIONS: list[Section] = []


def section(endpoint: str, label: Any) -> None:
    """Add a section to the side navigation (once)."""
    if all(s.endpoint != endpoint for s in SECTIONS):
        SECTIONS.append(Section(endpoint, label))


@bp.before_request
@login_required_actor
def _admins_only() -> None:
    from tessera.web.shell import access

    if not access().unrestricted:
        raise PermissionDenied("metadata", "edit", current_actor())


@bp.context_processor
def _admin_context() -> dict[str, Any]:
    return {"admin_sections": SECTIONS, "admin_endpoint": request.endpoint}


def metadata() -> Any:
    """The signed-in admin's org's :class:`~tessera.storage.overlay.MetadataChanges`."""
    from flask import g

    from tessera.app import ORGS_KEY

    actor = g.get("actor") or current_actor()  # set by the admin guard
    return current_app.extensions[ORGS_KEY].metadata(actor.org)


#: the editors, in the order of the side navigation; each registers its routes and its
#: section when imported
EDITORS: tuple[str, ...] = ("objects", "fields", "rules", "layouts", "automation", "roles", "packages")


def init_app(app: Any) -> None:
    from importlib import import_module

    for module in ("home", *EDITORS, "changes"):
        import_module(f"{__name__}.{module}")
    app.register_blueprint(bp)


