"""The start page: which packages and objects this org has loaded."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from tessera.app import current_registry
from tessera.i18n import current_locale

bp = Blueprint("web", __name__)


@bp.get("/")
def index() -> str:
    registry = current_registry()
    locale = current_locale()
    objects = sorted(registry.objects.values(), key=lambda o: o.label(locale))
    return render_template("index.html", registry=registry, objects=objects)


@bp.get("/healthz")
def health():
    registry = current_registry()
    return jsonify(status="ok", objects=len(registry.objects), packages=[p.name for p in registry.packages])
