"""The values the platform store hands out: orgs, users and API-token info, and how each is
read from a row. None of them holds a secret (no password hash, no token)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from tessera.records.service import Actor

@dataclass(frozen=True)
class Org:
    id: int
    name: str
    label: str
    created_at: dt.datetime
    active: bool


@dataclass(frozen=True)
class User:
    """A user of one org. Holds no password hash: nothing here is secret."""

    id: int
    org_id: int
    org: str
    username: str
    name: str
    email: str | None
    locale: str
    time_zone: str
    manager_id: int | None
    role: str
    active: bool
    password_changed_at: dt.datetime | None
    created_at: dt.datetime

    def actor(self) -> Actor:
        """Who the record service sees acting: this user, in this org, with this role."""
        return Actor(id=self.id, name=self.name, locale=self.locale, org=self.org, role=self.role,
                     username=self.username)

    @property
    def session_stamp(self) -> str:
        """Changes whenever the password does, so a password change ends other sessions."""
        changed = self.password_changed_at
        return format(int(changed.timestamp() * 1_000_000), "x") if changed else "0"


@dataclass(frozen=True)
class TokenInfo:
    """An API token as lists show it; the token itself is never kept."""

    id: int
    user_id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def org_from_row(row: Any) -> Org:
    return Org(id=int(row.id), name=row.name, label=row.label, created_at=row.created_at, active=bool(row.active))


def user_from_row(row: Any) -> User:
    return User(id=int(row.id), org_id=int(row.org_id), org=row.org, username=row.username, name=row.name,
                email=row.email, locale=row.locale, time_zone=row.time_zone,
                manager_id=int(row.manager_id) if row.manager_id is not None else None, role=row.role,
                active=bool(row.active), password_changed_at=row.password_changed_at, created_at=row.created_at)


def token_from_row(row: Any, prefix: str = "") -> TokenInfo:
    """The token info of ``row``; ``prefix`` when the token columns were selected with labels
    ``{prefix}id``, ``{prefix}name``... (beside the user's own ``id`` and ``name``)."""
    mapping = row._mapping
    return TokenInfo(id=int(mapping[prefix + "id"]), user_id=int(mapping[prefix + "user_id"]),
                     name=mapping[prefix + "name"], prefix=mapping[prefix + "prefix"],
                     created_at=mapping[prefix + "created_at"], last_used_at=mapping[prefix + "last_used_at"],
                     revoked_at=mapping[prefix + "revoked_at"])
