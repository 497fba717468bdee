"""The start page: which packages and objects this org has loaded."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
import sqlalchemy as sa

from tessera.app import current_records, current_registry
from tessera.i18n import current_locale

bp = Blueprint("web", __name__)


@bp.get("/")
def index() -> str:
    registry = current_registry()
    locale = current_locale()
    objects = sorted(registry.objects.values(), key=lambda o: o.label(locale))
    return render_template("index.html", registry=registry, objects=objects, counts=_record_counts())


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
