"""The Flask application factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from . import i18n
from .config import load_settings, metadata_paths, split_list
from .metadata.registry import Registry, build_org_registry, default_search_paths
from .paths import bundled_path

EXTENSION_KEY = "tessera"


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings, the default org's metadata registry, i18n and the views.

    Raises :class:`tessera.metadata.MetadataError` when the metadata is invalid, so a broken
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
    overlay = app.config.get("OVERLAY_DIR")
    registry = build_org_registry(
        split_list(app.config["PACKAGES"]),
        search_paths=[*metadata_paths(app.config), *default_search_paths()],
        overlay=Path(overlay) if overlay else None,
    )
    app.extensions[EXTENSION_KEY] = registry
    i18n.init_app(app)

    from .web.views import bp as web_bp

    app.register_blueprint(web_bp)
    return app


def current_registry() -> Registry:
    from flask import current_app

    return current_app.extensions[EXTENSION_KEY]
