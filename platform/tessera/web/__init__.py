"""Server-rendered screens (htmx); templates live in the top-level ui/ folder.

:func:`init_app` wires what every screen shares: the ``format_value`` filter
(:mod:`.display`), the app shell (navigation, search, notifications, error pages:
:mod:`.shell`), list views and bulk actions (:mod:`.lists`), kanban boards (:mod:`.kanban`) and
approvals (:mod:`.approvals`).
"""

from __future__ import annotations

from typing import Any


def init_app(app: Any) -> None:
    from flask_htmx import HTMX

    from . import approvals, display, kanban, lists, notifications, shell

    HTMX(app)  # request.htmx / flask_htmx.htmx: fragment or full page
    display.init_app(app)
    shell.init_app(app)
    app.register_blueprint(lists.bp)
    app.register_blueprint(kanban.bp)
    app.register_blueprint(approvals.bp)
    app.register_blueprint(notifications.bp)
    from . import admin

    admin.init_app(app)  # /admin: the builder
