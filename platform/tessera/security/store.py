"""The platform store: orgs, users and API tokens, kept apart from every org's records.

::

    store = PlatformStore.from_settings(settings)          # or PlatformStore(Database)
    store.create_org("acme", label="Acme Ltd")
    alice = store.create_user("acme", "alice", "correct horse battery", "sales_rep",
                              name="Alice", locale="zh-CN", time_zone="Asia/Shanghai")
    store.authenticate("acme", "alice", "correct horse battery")   # User | None
    plain, info = store.create_token(alice, "sync job")            # plain is shown once
    store.user_for_token(plain)                                     # User | None
    alice.actor()                                                   # the records' Actor

The tables live in the database named by ``DATABASE_URL``: on PostgreSQL in the schema
``tessera`` (``PLATFORM_SCHEMA`` overrides it), on SQLite in the file itself, while each org's
records live in their own schema or file (:func:`tessera.orgs.org_database`). Passwords are
stored as argon2id hashes and tokens as SHA-256 digests (:mod:`.passwords`); neither is ever
stored, logged or put into an exception in clear.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable, Iterable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tessera.i18n import LOCALES
from tessera.storage.database import Database
from tessera.storage.tables import ID_TYPE
from tessera.storage.types import UTCDateTime

from . import errors as E
from .errors import IdentityError, UnknownOrg
from .passwords import MAX_PASSWORD_LENGTH, check_password_rules, make_hasher
from .tokens import CACHE_SIZE, TOKEN_TOUCH_INTERVAL, TokenStore
from .values import Org, TokenInfo, User, org_from_row, user_from_row

__all__ = ["PLATFORM_SCHEMA", "TOKEN_TOUCH_INTERVAL", "Org", "PlatformStore", "PlatformTables", "TokenInfo",
           "User", "check_org_name", "check_time_zone", "platform_database"]

#: the PostgreSQL schema of the platform tables unless PLATFORM_SCHEMA names another
PLATFORM_SCHEMA = "tessera"
ORG_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
ROLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# ------------------------------------------------------------------------------ tables

class PlatformTables:
    """``tessera_orgs``, ``tessera_users``, ``tessera_tokens`` in one schema (None on SQLite)."""

    def __init__(self, schema: str | None) -> None:
        self.metadata = sa.MetaData(schema=schema)
        self.orgs = sa.Table(
            "tessera_orgs", self.metadata,
            sa.Column("id", ID_TYPE, sa.Identity(), primary_key=True),
            sa.Column("name", sa.String(40), nullable=False, unique=True),
            sa.Column("label", sa.String(200), nullable=False),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.Column("active", sa.Boolean(), nullable=False, default=True),
            sqlite_autoincrement=True,
        )
        self.users = sa.Table(
            "tessera_users", self.metadata,
            sa.Column("id", ID_TYPE, sa.Identity(), primary_key=True),
            sa.Column("org_id", ID_TYPE, sa.ForeignKey(self.orgs.c.id, ondelete="CASCADE"), nullable=False),
            sa.Column("username", sa.String(64), nullable=False),
            sa.Column("name", sa.String(200), nullable=False),
            sa.Column("email", sa.String(254), nullable=True),
            sa.Column("locale", sa.String(8), nullable=False),
            sa.Column("time_zone", sa.String(64), nullable=False),
            sa.Column("manager_id", ID_TYPE, nullable=True),
            sa.Column("role", sa.String(63), nullable=False),
            sa.Column("active", sa.Boolean(), nullable=False, default=True),
            sa.Column("password_hash", sa.String(255), nullable=True),  # None: no password login
            sa.Column("password_changed_at", UTCDateTime(), nullable=True),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.UniqueConstraint("org_id", "username", name="uq_tessera_users_org_username"),
            sa.Index("ix_tessera_users_org_role", "org_id", "role"),
            sa.Index("ix_tessera_users_manager", "manager_id"),
            sqlite_autoincrement=True,  # a user id is never reused: records keep pointing at it
        )
        self.users.append_constraint(sa.ForeignKeyConstraint(
            ["manager_id"], [self.users.c.id], ondelete="SET NULL", name="fk_tessera_users_manager"))
        self.tokens = sa.Table(
            "tessera_tokens", self.metadata,
            sa.Column("id", ID_TYPE, sa.Identity(), primary_key=True),
            sa.Column("user_id", ID_TYPE, sa.ForeignKey(self.users.c.id, ondelete="CASCADE"), nullable=False),
            sa.Column("name", sa.String(100), nullable=False),
            sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
            sa.Column("prefix", sa.String(16), nullable=False),
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.Column("last_used_at", UTCDateTime(), nullable=True),
            sa.Column("revoked_at", UTCDateTime(), nullable=True),
            sa.Index("ix_tessera_tokens_user", "user_id"),
            sqlite_autoincrement=True,
        )


def platform_database(settings: dict[str, Any], *, engine: sa.Engine | None = None) -> Database:
    """The database of the platform tables: ``DATABASE_URL``, schema ``PLATFORM_SCHEMA``
    (``tessera``) on PostgreSQL. ``engine`` reuses an open engine of that URL."""
    from tessera.storage.sync import database_url

    schema = str(settings.get("PLATFORM_SCHEMA") or PLATFORM_SCHEMA)
    if engine is not None:
        return Database(engine, None if engine.dialect.name == "sqlite" else schema)
    return Database.connect(database_url(settings), schema=schema)


# ------------------------------------------------------------------------------ the store

_UserRef = User | int
_OrgRef = Org | str


class PlatformStore(TokenStore):
    """Orgs, users and tokens. Thread-safe; one per process is enough.

    The tables are created on first use. ``hasher`` defaults to argon2id with the
    RFC 9106 low-memory profile; ``clock`` is for tests; ``cache_seconds`` is how long resolved
    API tokens (:mod:`.tokens`) and who reports to whom are remembered in this process.
    """

    def __init__(self, db: Database, *, hasher: PasswordHasher | None = None,
                 clock: Callable[[], dt.datetime] | None = None, cache_seconds: float | None = None) -> None:
        self.db = db
        self.hasher = hasher or make_hasher()
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.t = PlatformTables(db.schema)
        self._ready = False
        self._dummy_hash: str | None = None
        self._resolved = {}
        self._remembered: dict[Any, tuple[dt.datetime, frozenset[int]]] = {}
        if cache_seconds is not None:
            self.cache_seconds = float(cache_seconds)

    @classmethod
    def from_settings(cls, settings: dict[str, Any], *, engine: sa.Engine | None = None,
                      **options: Any) -> PlatformStore:
        """The store of ``DATABASE_URL`` with the ``PASSWORD_PROFILE`` hasher."""
        options.setdefault("hasher", make_hasher(settings.get("PASSWORD_PROFILE")))
        seconds = settings.get("IDENTITY_CACHE_SECONDS")
        if seconds not in (None, ""):
            try:
                options.setdefault("cache_seconds", max(0.0, float(seconds)))
            except (TypeError, ValueError):
                raise ValueError(f"IDENTITY_CACHE_SECONDS must be a number of seconds, not {seconds!r}") from None
        return cls(platform_database(settings, engine=engine), **options)

    def ensure(self) -> None:
        """Create the schema and tables when missing (idempotent; done once per store)."""
        if self._ready:
            return
        self.db.ensure_schema()
        with self.db.begin() as conn:
            self.t.metadata.create_all(conn, checkfirst=True)
        self._ready = True

    def _begin(self):
        self.ensure()
        return self.db.begin()

    def _connect(self):
        """A transaction that only reads (on SQLite it takes no write lock)."""
        self.ensure()
        return self.db.read()

    def dispose(self) -> None:
        self.db.dispose()

    # ------------------------------------------------------------------ orgs
    def create_org(self, name: str, label: str | None = None, *, active: bool = True) -> Org:
        """A new org (its records are deployed separately: :func:`tessera.orgs.create_org`)."""
        name = _org_name(name)
        orgs = self.t.orgs
        with self._begin() as conn:
            if conn.execute(sa.select(orgs.c.id).where(orgs.c.name == name)).first() is not None:
                raise IdentityError(E.DUPLICATE_ORG, field="org", org=name)
            try:
                with conn.begin_nested():
                    row = conn.execute(orgs.insert().values(
                        name=name, label=(label or name).strip()[:200] or name, created_at=self.clock(),
                        active=active).returning(*orgs.c)).one()
            except sa.exc.IntegrityError:
                raise IdentityError(E.DUPLICATE_ORG, field="org", org=name) from None
        return org_from_row(row)

    def ensure_org(self, name: str, label: str | None = None) -> Org:
        """The org ``name``, created when missing (used for ``default``)."""
        found = self.org(name)
        if found is not None:
            return found
        try:
            return self.create_org(name, label)
        except IdentityError:  # created by someone else in between
            found = self.org(name)
            if found is None:
                raise
            return found

    def org(self, name: str) -> Org | None:
        if not isinstance(name, str):
            return None
        with self._connect() as conn:
            row = conn.execute(sa.select(self.t.orgs).where(self.t.orgs.c.name == name.strip().lower())).first()
        return org_from_row(row) if row else None

    def orgs(self) -> list[Org]:
        with self._connect() as conn:
            return [org_from_row(row) for row in conn.execute(sa.select(self.t.orgs).order_by(self.t.orgs.c.name))]

    def set_org_active(self, name: str, active: bool) -> Org:
        org = self._require_org(name, allow_inactive=True)
        with self._begin() as conn:
            conn.execute(self.t.orgs.update().where(self.t.orgs.c.id == org.id).values(active=active))
        self.forget()
        return self._require_org(name, allow_inactive=True)

    def _require_org(self, org: _OrgRef, *, allow_inactive: bool = False) -> Org:
        found = org if isinstance(org, Org) else self.org(org)
        if found is None:
            raise UnknownOrg(str(org))
        if not found.active and not allow_inactive:
            raise UnknownOrg(found.name, inactive=True)
        return found

    # ------------------------------------------------------------------ users
    def create_user(self, org: _OrgRef, username: str, password: str | None, role: str, *,
                    name: str | None = None, email: str | None = None, locale: str = "en",
                    time_zone: str = "UTC", manager: User | int | str | None = None, active: bool = True,
                    id: int | None = None) -> User:
        """A user of ``org``. ``password`` None makes an account that cannot log in with a
        password (API tokens only). ``manager`` is a user of the same org (User, id or user
        name). ``id`` asks for a particular id (the demo's users keep theirs)."""
        org_row = self._require_org(org)
        username = _username(username)
        values = _profile(name=name if name is not None else username, email=email, locale=locale,
                          time_zone=time_zone, role=role)
        password_hash = self.hasher.hash(check_password_rules(password)) if password is not None else None
        users = self.t.users
        now = self.clock()
        with self._begin() as conn:
            if conn.execute(sa.select(users.c.id).where(
                    (users.c.org_id == org_row.id) & (users.c.username == username))).first() is not None:
                raise IdentityError(E.DUPLICATE_USER, field="username", org=org_row.name, username=username)
            if id is not None and conn.execute(sa.select(users.c.id).where(users.c.id == id)).first() is not None:
                raise IdentityError(E.DUPLICATE_USER_ID, field="id", id=id)
            manager_id = self._manager_id(conn, org_row, manager)
            row_values = dict(org_id=org_row.id, username=username, manager_id=manager_id, active=active,
                              password_hash=password_hash, password_changed_at=now if password_hash else None,
                              created_at=now, **values)
            if id is not None:
                row_values["id"] = int(id)
            try:
                with conn.begin_nested():
                    user_id = conn.execute(users.insert().values(**row_values).returning(users.c.id)).scalar_one()
            except sa.exc.IntegrityError:  # a concurrent create; the message would carry the hash
                raise IdentityError(E.DUPLICATE_USER, field="username", org=org_row.name,
                                    username=username) from None
            if id is not None and conn.dialect.name == "postgresql":
                # an explicit id does not move the identity sequence: move it past the largest id
                conn.execute(sa.select(sa.func.setval(
                    sa.func.pg_get_serial_sequence(_qualified(users), "id"),
                    sa.select(sa.func.max(users.c.id)).scalar_subquery())))
            created = self._user_on(conn, users.c.id == user_id)
        self.forget()  # a new user may report to someone, or hold a role managers see below theirs
        return created

    def update_user(self, user: _UserRef, **changes: Any) -> User:
        """Change ``name``, ``email``, ``locale``, ``time_zone``, ``role``, ``manager`` or
        ``active``. A manager who reports (directly or not) to the user is refused."""
        allowed = {"name", "email", "locale", "time_zone", "role", "manager", "active"}
        unknown = set(changes) - allowed
        if unknown:
            raise TypeError(f"update_user() cannot change {', '.join(sorted(unknown))}")
        current = self._require_user(user)
        profile = {k: changes.get(k, getattr(current, k)) for k in ("name", "email", "locale", "time_zone", "role")}
        values: dict[str, Any] = _profile(**profile)
        if "active" in changes:
            values["active"] = bool(changes["active"])
        users = self.t.users
        org_row = self._require_org(current.org, allow_inactive=True)
        with self._begin() as conn:  # (on SQLite a second connection inside would wait for this one)
            if "manager" in changes:
                manager_id = self._manager_id(conn, org_row, changes["manager"])
                if manager_id is not None and (manager_id == current.id or manager_id in self._reports_on(conn, current.id)):
                    raise IdentityError(E.MANAGER_CYCLE, field="manager", username=current.username)
                values["manager_id"] = manager_id
            conn.execute(users.update().where(users.c.id == current.id).values(**values))
            updated = self._user_on(conn, users.c.id == current.id)
        self.forget()  # a remembered token must not keep the old role or active flag
        return updated

    def user(self, org: _OrgRef, username: str) -> User | None:
        if not isinstance(username, str):
            return None
        org_name = org.name if isinstance(org, Org) else str(org).strip().lower()
        with self._connect() as conn:
            return self._user_on(conn, (self.t.orgs.c.name == org_name)
                                 & (self.t.users.c.username == username.strip().lower()), missing=None)

    def user_by_id(self, user_id: int) -> User | None:
        try:
            user_id = int(user_id)
        except (TypeError, ValueError):
            return None
        with self._connect() as conn:
            return self._user_on(conn, self.t.users.c.id == user_id, missing=None)

    def active_user(self, user_id: int) -> User | None:
        """The user if both the user and their org are active (what a session may act as)."""
        try:
            user_id = int(user_id)
        except (TypeError, ValueError):
            return None
        with self._connect() as conn:
            return self._user_on(conn, (self.t.users.c.id == user_id) & self.t.users.c.active
                                 & self.t.orgs.c.active, missing=None)

    def users(self, org: _OrgRef) -> list[User]:
        org_row = self._require_org(org, allow_inactive=True)
        with self._connect() as conn:
            rows = conn.execute(self._user_select().where(self.t.users.c.org_id == org_row.id)
                                .order_by(self.t.users.c.username))
            return [user_from_row(row) for row in rows]

    # ------------------------------------------------------------------ passwords
    def authenticate(self, org: str, username: str, password: str) -> User | None:
        """The user when the password is right and user and org are active; else None.

        Unknown orgs and users cost one argon2 verification too, so the time taken does not
        tell whether a user name exists. A hash made with older parameters is replaced."""
        if not all(isinstance(v, str) for v in (org, username, password)):
            return None
        users, orgs = self.t.users, self.t.orgs
        with self._connect() as conn:
            row = conn.execute(
                sa.select(users.c.id, users.c.password_hash, users.c.active, orgs.c.active.label("org_active"))
                .select_from(users.join(orgs, users.c.org_id == orgs.c.id))
                .where((orgs.c.name == org.strip().lower()) & (users.c.username == username.strip().lower()))
            ).first()
        if row is None or row.password_hash is None or len(password) > MAX_PASSWORD_LENGTH:
            self._verify_dummy(password[:MAX_PASSWORD_LENGTH])
            return None
        if not self._verify(row.password_hash, password):
            return None
        if not (row.active and row.org_active):
            return None
        if self.hasher.check_needs_rehash(row.password_hash):
            with self._begin() as conn:  # same password, current parameters; sessions stay valid
                conn.execute(users.update().where(
                    (users.c.id == row.id) & (users.c.password_hash == row.password_hash))
                    .values(password_hash=self.hasher.hash(password)))
        return self.user_by_id(row.id)

    def verify_password(self, user: _UserRef, password: str) -> bool:
        """Whether ``password`` is the user's (to confirm a password change)."""
        current = self._require_user(user)
        with self._connect() as conn:
            stored = conn.execute(sa.select(self.t.users.c.password_hash)
                                  .where(self.t.users.c.id == current.id)).scalar_one_or_none()
        if stored is None or not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
            self._verify_dummy(password[:MAX_PASSWORD_LENGTH] if isinstance(password, str) else "")
            return False
        return self._verify(stored, password)

    def set_password(self, user: _UserRef, password: str | None) -> User:
        """Replace the password (None: no password login). Sessions of the user made before
        end, because :attr:`User.session_stamp` changes."""
        current = self._require_user(user)
        password_hash = self.hasher.hash(check_password_rules(password)) if password is not None else None
        now = self.clock()
        if current.password_changed_at is not None and now <= current.password_changed_at:
            now = current.password_changed_at + dt.timedelta(microseconds=1)
        users = self.t.users
        with self._begin() as conn:
            conn.execute(users.update().where(users.c.id == current.id)
                         .values(password_hash=password_hash, password_changed_at=now))
            return self._user_on(conn, users.c.id == current.id)

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def _verify_dummy(self, password: str) -> None:
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(24))
        self._verify(self._dummy_hash, password)

    # ------------------------------------------------------------------ for permissions
    def users_in_roles(self, org: str, roles: Iterable[str]) -> set[int]:
        """Ids of the org's users (active or not: their records stay theirs) with any of ``roles``."""
        wanted = tuple(sorted({r for r in roles if isinstance(r, str)}))
        if not wanted:
            return set()
        org = str(org).strip().lower()
        users, orgs = self.t.users, self.t.orgs

        def look_up() -> frozenset[int]:
            with self._connect() as conn:
                return frozenset(conn.execute(
                    sa.select(users.c.id).select_from(users.join(orgs, users.c.org_id == orgs.c.id))
                    .where((orgs.c.name == org) & users.c.role.in_(wanted))).scalars())

        return set(self._remember(("roles", org, wanted), look_up))

    def reports_of(self, user_id: int) -> set[int]:
        """Everyone below ``user_id`` in the manager chain, at any depth; safe with cycles."""
        user_id = int(user_id)

        def look_up() -> frozenset[int]:
            with self._connect() as conn:
                return frozenset(self._reports_on(conn, user_id))

        return set(self._remember(("reports", user_id), look_up))

    def forget(self) -> None:
        """Forget the tokens and the reporting lines this process remembers (after any change
        to users, orgs or tokens)."""
        self._resolved.clear()
        self._remembered.clear()

    def _remember(self, key: Any, look_up: Callable[[], frozenset[int]]) -> frozenset[int]:
        """Record-level access asks these on every request: remembered for ``cache_seconds``."""
        now = self.clock()
        found = self._remembered.get(key)
        if found is not None and found[0] > now:
            return found[1]
        value = look_up()
        if self.cache_seconds > 0:
            if len(self._remembered) >= CACHE_SIZE:
                self._remembered.clear()
            self._remembered[key] = (now + dt.timedelta(seconds=self.cache_seconds), value)
        return value

    def _reports_on(self, conn: sa.Connection, user_id: int) -> set[int]:
        users = self.t.users
        below = sa.select(users.c.id).where(users.c.manager_id == user_id).cte("below", recursive=True)
        below = below.union(sa.select(users.c.id).where(users.c.manager_id == below.c.id))  # UNION stops at cycles
        return set(conn.execute(sa.select(below.c.id)).scalars()) - {user_id}

    # ------------------------------------------------------------------ helpers
    def _user_select(self) -> sa.Select:
        users, orgs = self.t.users, self.t.orgs
        columns = [c for c in users.c if c.name != "password_hash"]
        return sa.select(*columns, orgs.c.name.label("org")).select_from(users.join(orgs, users.c.org_id == orgs.c.id))

    _MISSING = object()

    def _user_on(self, conn: sa.Connection, condition: Any, missing: Any = _MISSING) -> User | None:
        row = conn.execute(self._user_select().where(condition)).first()
        if row is None:
            if missing is self._MISSING:
                raise LookupError("no such user")
            return missing
        return user_from_row(row)

    def _require_user(self, user: _UserRef) -> User:
        found = self.user_by_id(user.id if isinstance(user, User) else user)
        if found is None:
            raise LookupError(f"there is no user with id {user.id if isinstance(user, User) else user}")
        return found

    def _manager_id(self, conn: sa.Connection, org: Org, manager: User | int | str | None) -> int | None:
        if manager is None or manager == "":
            return None
        users = self.t.users
        if isinstance(manager, User):
            condition = users.c.id == manager.id
        elif isinstance(manager, int):
            condition = users.c.id == manager
        else:
            condition = users.c.username == str(manager).strip().lower()
        found = conn.execute(sa.select(users.c.id).where(condition & (users.c.org_id == org.id))).scalar_one_or_none()
        if found is None:
            raise IdentityError(E.UNKNOWN_MANAGER, field="manager")
        return int(found)


# ------------------------------------------------------------------------------ validation

def check_org_name(name: object) -> str:
    """``name`` as an org name (lowercase identifier), or IdentityError."""
    return _org_name(name)


def _org_name(name: object) -> str:
    value = name.strip() if isinstance(name, str) else ""
    if not ORG_NAME.match(value):
        raise IdentityError(E.BAD_ORG_NAME, field="org")
    return value


def _username(username: object) -> str:
    value = username.strip().lower() if isinstance(username, str) else ""
    if not USERNAME.match(value):
        raise IdentityError(E.BAD_USERNAME, field="username")
    return value


def _profile(*, name: Any, email: Any, locale: Any, time_zone: Any, role: Any) -> dict[str, Any]:
    name = str(name or "").strip()[:200]
    email = str(email).strip() if email else None
    if email is not None and (len(email) > 254 or not _EMAIL.match(email)):
        raise IdentityError(E.BAD_EMAIL, field="email")
    if locale not in LOCALES:
        raise IdentityError(E.BAD_LOCALE, field="locale", choices=", ".join(LOCALES))
    return {"name": name, "email": email, "locale": locale, "time_zone": check_time_zone(time_zone),
            "role": _role(role)}


def check_time_zone(value: object) -> str:
    """``value`` if it names an IANA time zone, else IdentityError."""
    text = value.strip() if isinstance(value, str) else ""
    try:
        if not text or len(text) > 64 or text.startswith(("/", ".")):
            raise ValueError(text)
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise IdentityError(E.BAD_TIME_ZONE, field="time_zone", value=str(value)[:64]) from None
    return text


def _role(role: object) -> str:
    value = role.strip() if isinstance(role, str) else ""
    if not ROLE_NAME.match(value):
        raise IdentityError(E.BAD_ROLE, field="role")
    return value


def _qualified(table: sa.Table) -> str:
    return f"{table.schema}.{table.name}" if table.schema else table.name
