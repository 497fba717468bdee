"""In-app notifications: a message for one user, about a record, that they see under the bell
in the navigation bar (and at ``GET /api/v1/notifications``) until they mark it read.

Flows send them with the ``notify`` step (tessera.flows.notify), which may also e-mail them
(tessera.notifications.email); plugins call :func:`send` inside a unit of work, so a
notification exists only if the write that caused it commits::

    from tessera.notifications import send
    send(work, [owner_id], "Quote Q-2026-0042 was approved", object="quote", record_id=42)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

#: the longest title kept (longer ones are cut with an ellipsis)
MAX_TITLE = 300
#: the longest body kept
MAX_BODY = 4000
#: one page of a user's notifications holds at most this many
MAX_PAGE = 200


@dataclass(frozen=True)
class Notification:
    id: int
    title: str
    body: str | None
    object: str | None
    record_id: int | None
    source: str | None
    created_at: dt.datetime
    read_at: dt.datetime | None

    @property
    def read(self) -> bool:
        return self.read_at is not None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "body": self.body, "object": self.object,
                "record_id": self.record_id, "source": self.source,
                "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
                "read_at": self.read_at.isoformat().replace("+00:00", "Z") if self.read_at else None}


def _cut(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    text = str(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def send(work: Any, user_ids: Iterable[int], title: str, body: str | None = None, *, object: str | None = None,
         record_id: int | None = None, source: str | None = None) -> list[int]:
    """Write a notification for each of ``user_ids`` in ``work``'s transaction; their ids.
    A blank title is refused (ValueError): a notification says something."""
    title = (title or "").strip()
    if not title:
        raise ValueError("a notification needs a title")
    users = sorted({int(u) for u in user_ids})
    if not users:
        return []
    table = work.service.schema.notifications
    rows = [{"user_id": user, "title": _cut(title, MAX_TITLE), "body": _cut(body, MAX_BODY) or None,
             "object": object, "record_id": record_id, "source": _cut(source, 100), "created_at": work.now}
            for user in users]
    ids = []
    for row in rows:  # one by one: the ids come back on every database
        ids.append(int(work.conn.execute(sa.insert(table).values(row).returning(table.c.id)).scalar_one()))
    return ids


def unread_count(work: Any, user_id: int, *, cap: int = 100) -> tuple[int, bool]:
    """How many unread notifications the user has, counting up to ``cap``; (count, capped)."""
    table = work.service.schema.notifications
    inner = (sa.select(table.c.id).where((table.c.user_id == int(user_id)) & table.c.read_at.is_(None))
             .limit(cap + 1).subquery())
    count = int(work.conn.execute(sa.select(sa.func.count()).select_from(inner)).scalar_one())
    return (cap, True) if count > cap else (count, False)


def for_user(work: Any, user_id: int, *, unread_only: bool = False, limit: int = 50,
             before: int | None = None) -> list[Notification]:
    """The user's notifications, newest first; ``before`` (an id) pages on."""
    table = work.service.schema.notifications
    query = sa.select(table).where(table.c.user_id == int(user_id))
    if unread_only:
        query = query.where(table.c.read_at.is_(None))
    if before is not None:
        query = query.where(table.c.id < int(before))
    query = query.order_by(table.c.id.desc()).limit(max(1, min(int(limit), MAX_PAGE)))
    return [Notification(row.id, row.title, row.body, row.object, row.record_id, row.source, row.created_at,
                         row.read_at) for row in work.conn.execute(query)]


def mark_read(work: Any, user_id: int, ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications ``ids`` (all unread ones when None) read; how many
    changed. Another user's ids are left alone."""
    table = work.service.schema.notifications
    where = (table.c.user_id == int(user_id)) & table.c.read_at.is_(None)
    if ids is not None:
        wanted = sorted({int(i) for i in ids})
        if not wanted:
            return 0
        where = where & table.c.id.in_(wanted)
    return int(work.conn.execute(sa.update(table).where(where).values(read_at=work.now)).rowcount or 0)
