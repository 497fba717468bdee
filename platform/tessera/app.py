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

#: the default org's registry and record service as built at start-up; they go stale when its
#: metadata changes: code serving requests asks current_registry() / current_records()
EXTENSION_KEY = "tessera"
RECORDS_KEY = "tessera.records"
PLUGINS_KEY = "tessera.plugins"
ORGS_KEY = "tessera.orgs"


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings, the default org's database, registry and record service,
    i18n, background jobs and the views.

    Raises :class:`tessera.metadata.MetadataError` when the metadata is invalid,
    :class:`tessera.storage.sync.SyncError` when the database cannot be opened and
    :class:`tessera.jobs.JobsError` on a bad jobs setting and
    :class:`tessera.notifications.email.EmailError` on a bad mail setting, so a broken deploy never starts serving.
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
    from .orgs import OrgDirectory
    from .plugins import Plugins
    from .security import web as security_web
    from .storage.sync import DEFAULT_ORG, open_org

    plugins = Plugins.load(app.config.get("PLUGINS"))
    db, registry = open_org(app.config, plugins=plugins)  # the registry that was (or will be) deployed
    app.extensions[EXTENSION_KEY] = registry
    app.extensions[PLUGINS_KEY] = plugins
    orgs = OrgDirectory(app.config, plugins)  # every other org opens on first use
    app.extensions[ORGS_KEY] = orgs
    app.extensions[RECORDS_KEY] = orgs.add(DEFAULT_ORG, db, registry).records
    _add_plugin_web(app, plugins)
    i18n.init_app(app)
    security_web.init_app(app, orgs.store)  # sessions, API tokens, CSRF, login limits, /login
    from .jobs import init_app as init_jobs

    init_jobs(app)  # Celery (eager without a broker), job types, periodic jobs, /admin/jobs
    from .notifications.email import init_app as init_mail

    init_mail(app, plugins)  # the e-mail sender of EMAIL_SENDER

    from .api import bp as api_bp
    from .web import init_app as init_screens
    from .web.records import bp as records_bp
    from .web.views import bp as web_bp

    app.register_blueprint(web_bp)
    init_screens(app)  # the app shell, list views, kanban boards, value display
    app.register_blueprint(records_bp)  # record pages, create and edit forms
    app.register_blueprint(api_bp)  # /api/v1 and /api/docs
    return app


def _add_plugin_web(app: Flask, plugins: Any) -> None:
    """Plugins' templates come before the engine's (so they can override them), their static
    files are served under /static/plugins/<name>/, and their blueprints are registered."""
    from flask import send_from_directory
    from jinja2 import ChoiceLoader, FileSystemLoader

    if plugins.template_folders:
        app.jinja_loader = ChoiceLoader([FileSystemLoader([str(p) for p in plugins.template_folders]),
                                         app.jinja_loader])
    folders = dict(plugins.static_folders)
    if folders:
        @app.get("/static/plugins/<name>/<path:filename>", endpoint="plugin_static")
        def plugin_static(name: str, filename: str):
            from flask import abort

            if name not in folders:
                abort(404)
            return send_from_directory(folders[name], filename)
    for _plugin, blueprints in plugins.answers("tessera_register_blueprints"):
        for blueprint in blueprints:
            app.register_blueprint(blueprint)


def current_registry() -> Registry:
    """The registry of the signed-in user's org (the default org's when nobody is)."""
    from flask import current_app

    from .security.web import current_actor
    from .storage.sync import DEFAULT_ORG

    actor = current_actor()
    return current_app.extensions[ORGS_KEY].get(actor.org if actor is not None else DEFAULT_ORG).registry


def current_records() -> RecordService:
    """The record service of the signed-in user's org, and of no other org (the default
    org's when nobody is signed in)."""
    from flask import current_app

    from .security.web import current_actor
    from .storage.sync import DEFAULT_ORG

    actor = current_actor()
    orgs = current_app.extensions[ORGS_KEY]
    return orgs.for_actor(actor) if actor is not None else orgs.records(DEFAULT_ORG)
