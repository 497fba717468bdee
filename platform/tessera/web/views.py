"""The start page: the signed-in user's home, or which packages and objects this org has loaded."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template
import sqlalchemy as sa

from tessera.app import current_records, current_registry
from tessera.i18n import current_locale
from tessera.security.web import current_actor

bp = Blueprint("web", __name__)


@bp.get("/")
def index() -> str:
    """Signed-in users get their home (apps, what is due, recent records); strangers the
    public overview of what the org has loaded."""
    if current_actor() is not None:
        from .shell import home

        return home()
    return render_template("index.html", **overview_context())


def overview_context() -> dict[str, Any]:
    """The packages and objects of the org, with record counts."""
    registry = current_registry()
    locale = current_locale()
    objects = sorted(registry.objects.values(), key=lambda o: o.label(locale))
    return {"registry": registry, "objects": objects, "counts": _record_counts()}


def _record_counts() -> dict[str, str] | None:
    """Records per object, or None when the database has not been deployed yet."""
    service = current_records()
    try:
        with service.unit_of_work() as work:
            return {name: str(work.count(name, cap=1000)) for name in service.registry.objects}
    except sa.exc.OperationalError:
        return None
    except sa.exc.ProgrammingError:  # PostgreSQL: relation does not exist
        return None


@bp.get("/healthz")
def health():
    registry = current_registry()
    return jsonify(status="ok", objects=len(registry.objects), packages=[p.name for p in registry.packages])
