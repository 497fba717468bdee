"""The Flask application factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from . import i18n
from .config import load_settings
from .metadata.registry import Registry
from .paths import bundled_path
from .records.service import RecordService

EXTENSION_KEY = "tessera"
RECORDS_KEY = "tessera.records"


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings, the default org's database, registry and record service,
    i18n and the views.

    Raises :class:`tessera.metadata.MetadataError` when the metadata is invalid and
    :class:`tessera.storage.sync.SyncError` when the database cannot be opened, so a broken
    deploy never starts serving.
    """
    ui = bundled_path("ui")
    app = Flask(
        "tessera",
        template_folder=str(ui / "templates"),
        static_folder=str(ui / "static"),
        instance_path=str(Path("instance").resolve()),
    )
    app.config.update(load_settings(test_config))
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(Path(__file__).parent / "translations"))
    from .storage.sync import open_org

    db, registry = open_org(app.config)  # the registry that was (or will be) deployed
    app.extensions[EXTENSION_KEY] = registry
    app.extensions[RECORDS_KEY] = RecordService(registry, db)
    i18n.init_app(app)

    from .web.views import bp as web_bp

    app.register_blueprint(web_bp)
    return app


def current_registry() -> Registry:
    from flask import current_app

    return current_app.extensions[EXTENSION_KEY]


def current_records() -> RecordService:
    from flask import current_app

    return current_app.extensions[RECORDS_KEY]
