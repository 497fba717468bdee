"""``/admin``: the builder's start page — what the org holds and its latest changes."""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask_babel import lazy_gettext as _l

from tessera.app import current_registry
from tessera.metadata.overlay import ORG_OVERLAY

from . import bp, metadata, section
from .changes import change_view


@bp.get("/")
def home() -> Any:
    registry = current_registry()
    overlay = {doc.name for doc in metadata().documents() if doc.kind == "object"}
    packaged = [obj for obj in registry.objects.values() if obj.package != ORG_OVERLAY]
    custom = [obj for obj in registry.objects.values() if obj.package == ORG_OVERLAY]
    recent = [change_view(c) for c in metadata().history(limit=5)]
    return render_template("admin/home.html", packages=registry.packages, packaged=len(packaged),
                           custom=custom, changed=sorted(overlay & {o.name for o in packaged}), recent=recent)


section("admin.home", _l("Overview"))
