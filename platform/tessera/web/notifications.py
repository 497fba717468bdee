"""``/notifications``: the signed-in user's in-app notifications, newest first.

Opening one (``/notifications/<id>/open``) marks it read and goes to its record; "Mark all as
read" and each item's "Mark as read" are form posts (CSRF token included), so the page works
without JavaScript. Only the user's own notifications are ever shown or changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tessera import notifications
from tessera.security.web import login_required_actor

from .display import format_value
from .screen import record_url, screen

bp = Blueprint("notifications_ui", __name__)
PAGE = 50


@dataclass
class Item:
    id: int
    title: str
    body: str | None
    at: str
    read: bool
    object: str | None  # the record's object, in the user's language
    url: str | None  # the record's page, when the user may read that object


def inbox() -> Any:
    scr = screen()
    before = request.args.get("before", type=int)
    unread_only = request.args.get("unread") == "1"
    with scr.reading() as work:
        found = notifications.for_user(work, scr.actor.id, unread_only=unread_only, limit=PAGE + 1, before=before)
    items = [_item(scr, n) for n in found[:PAGE]]
    older = url_for("notifications_ui.inbox", before=found[PAGE - 1].id, **({"unread": "1"} if unread_only else {})) \
        if len(found) > PAGE else None
    return render_template("notifications.html", items=items, older=older, unread_only=unread_only)


def _item(scr: Any, note: notifications.Notification) -> Item:
    obj = scr.registry.objects.get(note.object) if note.object else None
    readable = obj is not None and obj.active and scr.service.policy.access(scr.actor).allows(obj.name, "read")
    url = url_for("notifications_ui.open_one", notification_id=note.id) if readable and note.record_id else None
    shown_at = format_value(obj.fields["created_at"], note.created_at, scr.locale, tz=scr.tz) if obj is not None \
        else note.created_at.astimezone(scr.tz).strftime("%Y-%m-%d %H:%M")
    return Item(note.id, note.title, note.body, str(shown_at), note.read,
                obj.label(scr.locale) if obj is not None else None, url)


def open_one(notification_id: int) -> Any:
    """Mark the notification read and go to its record."""
    scr = screen()
    with scr.work() as work:
        found = [n for n in notifications.for_user(work, scr.actor.id, before=notification_id + 1, limit=1)
                 if n.id == notification_id]
        if not found:
            abort(404)
        notifications.mark_read(work, scr.actor.id, [notification_id])
    note = found[0]
    if not note.object or not note.record_id:
        return redirect(url_for("notifications_ui.inbox"), 303)
    return redirect(record_url(note.object, note.record_id), 303)


def mark_read() -> Any:
    scr = screen()
    raw = request.form.getlist("id")
    ids = [int(v) for v in raw if v.isdigit()] if raw else None
    with scr.work() as work:
        marked = notifications.mark_read(work, scr.actor.id, ids)
    if ids is None and marked:
        flash(_("All notifications are marked as read."), "success")
    return redirect(request.form.get("next") if request.form.get("next", "").startswith("/notifications")
                    else url_for("notifications_ui.inbox"), 303)


bp.add_url_rule("/notifications", "inbox", login_required_actor(inbox))
bp.add_url_rule("/notifications/<int:notification_id>/open", "open_one", login_required_actor(open_one))
bp.add_url_rule("/notifications/read", "mark_read", login_required_actor(mark_read), methods=["POST"])
