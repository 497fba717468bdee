"""Sharing one record by hand, and the team working a record.

Both are record-level access beyond ownership (see tessera.security.permissions): a share gives
a user or a role read or edit access to one record; a team member (an account's or an
opportunity's) gets read or edit access and a team role. Only someone who may edit the record
may share it or change its team.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from . import errors as E
from .errors import Problem, ValidationFailed

ACCESS_LEVELS = ("read", "edit")


def share(work: Any, object_name: str, record_id: int, *, user_id: int | None = None, role: str | None = None,
          access: str = "read") -> int:
    """Share a record with a user or a role; returns the share's id."""
    runtime = work.service.runtime(object_name)
    work._require_record(runtime, record_id, "edit")
    problems: dict[str, list[Problem]] = {}
    if (user_id is None) == (role is None):
        problems["user_id"] = [Problem(E.INVALID_VALUE)]
    if role is not None and role not in work.service.registry.roles:
        problems["role"] = [Problem(E.NOT_AN_OPTION, {"value": role})]
    if access not in ACCESS_LEVELS:
        problems["access"] = [Problem(E.NOT_AN_OPTION, {"value": access})]
    if problems:
        raise ValidationFailed(object_name, problems)
    shares = work.service.schema.shares
    return int(work.conn.execute(sa.insert(shares).values(
        object=object_name, record_id=record_id, user_id=user_id, role=role, access=access,
        created_by=work.actor.id, created_at=work.now).returning(shares.c.id)).scalar_one())


def unshare(work: Any, object_name: str, record_id: int, share_id: int) -> None:
    runtime = work.service.runtime(object_name)
    work._require_record(runtime, record_id, "edit")
    shares = work.service.schema.shares
    work.conn.execute(sa.delete(shares).where((shares.c.id == share_id) & (shares.c.object == object_name)
                                              & (shares.c.record_id == record_id)))


def set_team_member(work: Any, object_name: str, record_id: int, user_id: int, *, access: str = "read",
                    team_role: str | None = None) -> None:
    """Put a user on a record's team (or change their access or team role)."""
    runtime = work.service.runtime(object_name)
    work._require_record(runtime, record_id, "edit")
    if access not in ACCESS_LEVELS:
        raise ValidationFailed(object_name, {"access": [Problem(E.NOT_AN_OPTION, {"value": access})]})
    team = work.service.schema.team_members
    key = (team.c.object == object_name) & (team.c.record_id == record_id) & (team.c.user_id == user_id)
    if work.conn.execute(sa.update(team).where(key).values(access=access, team_role=team_role)).rowcount == 0:
        work.conn.execute(sa.insert(team).values(object=object_name, record_id=record_id, user_id=user_id,
                                                 access=access, team_role=team_role, created_at=work.now))


def remove_team_member(work: Any, object_name: str, record_id: int, user_id: int) -> None:
    runtime = work.service.runtime(object_name)
    work._require_record(runtime, record_id, "edit")
    team = work.service.schema.team_members
    work.conn.execute(sa.delete(team).where((team.c.object == object_name) & (team.c.record_id == record_id)
                                            & (team.c.user_id == user_id)))


def team(work: Any, object_name: str, record_id: int) -> list[dict[str, Any]]:
    runtime = work.service.runtime(object_name)
    work._require_record(runtime, record_id, "read")
    table = work.service.schema.team_members
    rows = work.conn.execute(sa.select(table.c.user_id, table.c.access, table.c.team_role).where(
        (table.c.object == object_name) & (table.c.record_id == record_id)).order_by(table.c.id)).mappings()
    return [dict(row) for row in rows]
