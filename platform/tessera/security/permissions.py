"""Who may do what with which records: object permissions, field-level security, and the
records each user can see or change, compiled to SQL the record service adds to every query.

* **Object permissions** come from the user's role (``roles/*.yaml``): create, read, edit,
  delete, view_all, modify_all, import, export. Admin roles may do everything in their org.
* **Field-level security**: a field a role hides never leaves the server (reads, queries,
  search, history, formulas that read it); a read-only field cannot be written.
* **Record level** (without view_all / modify_all): a user sees the records they own, those
  owned by the users below them (their role's subordinate roles, and their reports in the
  manager chain), records shared with them or their roles by hand or by criteria (sharing
  rules), and records whose team they are on. Every branch is an indexed condition
  (``owner_id IN (...)``, ``id IN (SELECT record_id FROM shares WHERE object = ? AND ...)``).
* The system actor (flows, jobs, deployments) is not restricted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from tessera.metadata.model import RoleDef
from tessera.metadata.registry import Registry
from tessera.records.errors import RecordError
from tessera.storage.query import Restriction
from tessera.storage.query_filter import ObjectQuery, QueryParams
from tessera.storage.tables import StorageSchema

_EDIT_LEVEL = {"read": ("read", "edit"), "edit": ("edit",)}
#: up to this many ids are bound one by one (the planner sees them); more go as one parameter
_INLINE_IDS = 8


class PermissionDenied(RecordError):
    """The actor may not do this."""

    status = 403

    def __init__(self, object_name: str, permission: str, actor: Any) -> None:
        self.object, self.permission = object_name, permission
        who = getattr(actor, "username", None) or getattr(actor, "name", "?")
        super().__init__(f"{who} may not {permission} {object_name} records")

    def message(self, locale: str = "en") -> str:
        from tessera.i18n import translate

        return translate("You do not have permission to do this.", locale)


class UserDirectory(Protocol):
    """What permissions need to know about an org's users (the identity store provides it)."""

    def users_in_roles(self, org: str, roles: Iterable[str]) -> set[int]: ...

    def reports_of(self, user_id: int) -> set[int]: ...


class AccessPolicy:
    """The permission rules of one org: built once per registry, asked per actor."""

    def __init__(self, registry: Registry, directory: UserDirectory | None = None) -> None:
        self.registry = registry
        self.directory = directory
        self._below: dict[str, frozenset[str]] = {name: self._subordinates(name) for name in registry.roles}

    def access(self, actor: Any) -> Access:
        if actor is None or getattr(actor, "id", None) is None:
            return Access(self, actor, None, unrestricted=True)
        role = self.registry.roles.get(actor.role) if actor.role else None
        return Access(self, actor, role, unrestricted=bool(role and role.admin))

    def roles_at_or_below(self, role: str) -> frozenset[str]:
        return self._below.get(role, frozenset({role}))

    def _subordinates(self, name: str) -> frozenset[str]:
        found = {name}
        changed = True
        while changed:  # roles reporting (directly or not) to one already found
            changed = False
            for other, role in self.registry.roles.items():
                if other not in found and role.reports_to in found:
                    found.add(other)
                    changed = True
        return frozenset(found)


@dataclass
class Access:
    """What one actor may do. Ask ``allows``/``require``, ``hidden``/``read_only``, and
    ``row_filter`` for the SQL condition limiting which records they reach."""

    policy: AccessPolicy
    actor: Any
    role: RoleDef | None
    unrestricted: bool = False
    _hidden: dict[str, frozenset[str]] = field(default_factory=dict)

    # ------------------------------------------------------------------ object level
    def allows(self, object_name: str, permission: str) -> bool:
        if self.unrestricted:
            return True
        return self.role is not None and permission in self.role.permissions(object_name)

    def require(self, object_name: str, permission: str) -> None:
        if not self.allows(object_name, permission):
            raise PermissionDenied(object_name, permission, self.actor)

    # ------------------------------------------------------------------ field level
    def hidden(self, object_name: str) -> frozenset[str]:
        """Fields of ``object_name`` this actor may not see, including formulas that read them."""
        if self.unrestricted or self.role is None:
            return frozenset()
        found = self._hidden.get(object_name)
        if found is None:
            found = self._hidden_closure(object_name)
            self._hidden[object_name] = found
        return found

    @cached_property
    def hidden_by_object(self) -> Mapping[str, frozenset[str]]:
        """Every object's hidden fields, for queries that follow lookups. Of an object the actor
        may not read at all, a lookup shows only which record it is (its id and name): an
        opportunity's reader sees its account's name, not the account's other fields."""
        if self.unrestricted or self.role is None:
            return {}
        found: dict[str, frozenset[str]] = {}
        for name, obj in self.policy.registry.objects.items():
            if self.allows(name, "read"):
                hidden = self.hidden(name)
            else:
                hidden = frozenset(f for f in obj.fields if f not in ("id", obj.name_field))
            if hidden:
                found[name] = hidden
        return found

    def read_only(self, object_name: str) -> frozenset[str]:
        if self.unrestricted or self.role is None:
            return frozenset()
        return frozenset(name for (obj, name), level in self.role.fields.items()
                         if obj == object_name and level == "read_only")

    def _hidden_closure(self, object_name: str) -> frozenset[str]:
        assert self.role is not None
        hidden = {name for (obj, name), level in self.role.fields.items() if obj == object_name and level == "hidden"}
        if not hidden:
            return frozenset()
        obj = self.policy.registry.object(object_name)
        changed = True
        while changed:  # a formula reading a hidden field would show it
            changed = False
            for candidate in obj.fields.values():
                compiled = candidate.formula
                if candidate.name in hidden or compiled is None:
                    continue
                if any(path[0] in hidden for path in compiled.references):
                    hidden.add(candidate.name)
                    changed = True
        return frozenset(hidden)

    # ------------------------------------------------------------------ record level
    def sees_everything(self, object_name: str, level: str) -> bool:
        if self.unrestricted:
            return True
        permissions = self.role.permissions(object_name) if self.role else frozenset()
        return "modify_all" in permissions or (level == "read" and "view_all" in permissions)

    @cached_property
    def roles(self) -> frozenset[str]:
        """The actor's role and every role below it."""
        return self.policy.roles_at_or_below(self.role.name) if self.role else frozenset()

    @cached_property
    def owners(self) -> frozenset[int]:
        """Users whose records this actor reaches as their own: themselves, the users of the
        roles below theirs, and their reports in the manager chain."""
        found = {self.actor.id}
        directory = self.policy.directory
        if directory is not None:
            below = self.roles - ({self.role.name} if self.role else set())
            if below:
                found |= directory.users_in_roles(self.actor.org, below)
            found |= directory.reports_of(self.actor.id)
        return frozenset(found)

    def row_filter(self, schema: StorageSchema, object_name: str, level: str = "read",
                   params: QueryParams | None = None) -> sa.ColumnElement[bool] | None:
        """The SQL condition on ``object_name``'s table for records this actor may ``level``
        (read or edit); None when they reach every record."""
        if self.sees_everything(object_name, level):
            return None
        table = schema.table(object_name)
        access = _EDIT_LEVEL[level]
        dialect = schema.db.dialect
        owners = _IdList(sorted(self.owners), dialect)
        branches: list[sa.ColumnElement[bool]] = [owners.match(table.c.owner_id)]
        shares = schema.shares
        by_user_or_role = owners.match(shares.c.user_id)
        if self.roles:
            by_user_or_role = by_user_or_role | shares.c.role.in_(sorted(self.roles))
        branches.append(table.c.id.in_(
            sa.select(shares.c.record_id).where((shares.c.object == object_name) & by_user_or_role
                                                & shares.c.access.in_(access))))
        team = schema.team_members
        branches.append(table.c.id.in_(
            sa.select(team.c.record_id).where((team.c.object == object_name)
                                              & owners.match(team.c.user_id)
                                              & team.c.access.in_(access))))
        for rule in self._sharing_rules(object_name, level):
            query = ObjectQuery(schema, object_name, params or QueryParams(), schema.db.dialect)
            branches.append(query.where(rule.filter))
        return sa.or_(*branches)

    def restriction(self, schema: StorageSchema, object_name: str, level: str = "read",
                    params: QueryParams | None = None) -> Restriction | None:
        """:meth:`row_filter` for queries, named by what it is built from (owners, roles,
        sharing rules) so query plans with it can be kept; None when they reach every record."""
        if self.sees_everything(object_name, level):
            return None
        rules = [repr(rule.filter) for rule in self._sharing_rules(object_name, level)]
        key = None if any("$now" in rule for rule in rules) else repr(
            (object_name, level, sorted(self.owners), sorted(self.roles), sorted(rules)))
        return Restriction(key, lambda: self.row_filter(schema, object_name, level, params))

    def _sharing_rules(self, object_name: str, level: str) -> list[Any]:
        rules = []
        for name in self.roles:
            role = self.policy.registry.roles.get(name)
            for rule in role.sharing if role else ():
                if rule.object == object_name and rule.access in _EDIT_LEVEL[level]:
                    rules.append(rule)
        return rules


class _IdList:
    """``column IN ids`` for the owners of a row filter, which names them three times (owner,
    shares, team). More than a few ids go as ONE parameter, bound once and as text (a
    PostgreSQL array literal cast to ``bigint[]``, a JSON list read by ``json_each`` on SQLite):
    a manager's two hundred reports would otherwise make the statement six hundred placeholders
    long, rendered and parsed at every query, and psycopg would dump every id of three Python
    lists one by one (1.3 ms a page)."""

    def __init__(self, ids: list[int], dialect: str) -> None:
        self.ids = ids
        self.dialect = dialect
        self.param: sa.BindParameter[str] | None = None
        if len(ids) > _INLINE_IDS:
            listed = ",".join(str(int(i)) for i in ids)
            text = f"{{{listed}}}" if dialect == "postgresql" else f"[{listed}]"
            self.param = sa.bindparam("tessera_ids", text, type_=sa.Text, unique=True)

    def match(self, column: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        if self.param is None:
            return column.in_(self.ids)
        if self.dialect == "postgresql":
            return column.in_(sa.select(sa.func.unnest(sa.cast(self.param, postgresql.ARRAY(sa.BigInteger)))))
        listed = sa.func.json_each(self.param).table_valued("value")
        return column.in_(sa.select(listed.c.value))
