"""The authorization matrix (issue 6): every object of the L2C package × every role of the
package × list, get, create, update and delete, and each field's read and write, through the
REST API.

What each cell must answer is worked out here from the compiled metadata — the roles in
``registry.roles`` (object permissions, hidden and read-only fields, the hierarchy, sharing
rules) and the objects' fields — never written down per cell, so the test follows the
metadata when it changes. The rules it applies are docs/api.md's and docs/metadata.md's:

* an object the role may not read answers 403, for lists and for records;
* a record the role cannot see answers 404 (without view_all/modify_all a role reaches its
  user's own records, those of the users of the roles below, and those its sharing rules or
  a role below's share); an operation the role lacks on the object is 403 whatever the record;
* a visible record the role may not change (no modify_all, not theirs) is 403;
* a field the role hides is in no answer and writing it is "There is no field called ..."
  (422); a field read-only for them (computed, system but the owner, read-only in metadata,
  or by their role) cannot be changed (422); every other field can be written.

One org is arranged once per database: a user per role, plus an ``outsider`` (an administrator
nobody reports to) whose records are "someone else's" for every role; each user owns one
record of every object, copied from the demo company (l2c_records.py) as the system.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from tessera.metadata.model import FieldDef, ObjectDef, RoleDef
from tessera.metadata.registry import Registry, build_org_registry
from tests.api.conftest import Api, is_problem
from tests.api.l2c_records import Copier, World, free_text, json_body, l2c_objects, writable

#: the L2C package alone: its objects and roles are the matrix's rows and columns
PACKAGE = build_org_registry(["l2c"])
OBJECTS = sorted(obj.name for obj in l2c_objects(PACKAGE))
ROLES = sorted(PACKAGE.roles)
CELLS = [(obj, role) for obj in OBJECTS for role in ROLES]
#: someone else, for every role: an administrator nobody reports to
OUTSIDER = "outsider"
UNKNOWN_FIELD = "There is no field called '{}'."
#: an id no record has
NOWHERE = 10**12
READ_ONLY = "This field cannot be changed."


def granted(registry: Registry, role: str, object_name: str, permission: str) -> bool:
    return permission in registry.roles[role].permissions(object_name)


def cells(permission: str) -> list[tuple[str, str]]:
    """The cells whose role has ``permission`` on the object (field-level checks need it)."""
    return [(obj, role) for obj, role in CELLS if granted(PACKAGE, role, obj, permission)]


def cell_id(value: Any) -> str:
    return str(value)


# ------------------------------------------------------------------------------ what the metadata says

class Metadata:
    """The answers the metadata gives, worked out independently of the permission engine."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._hidden = {name: self._hidden_fields(role) for name, role in registry.roles.items()}

    def role(self, name: str) -> RoleDef:
        return self.registry.roles[name]

    def may(self, role: str, object_name: str, permission: str) -> bool:
        return granted(self.registry, role, object_name, permission)

    def below(self, role: str) -> set[str]:
        """The roles under ``role`` in the hierarchy (reporting to it directly or not)."""
        found = set()
        for name in self.registry.roles:
            above = self.registry.roles[name].reports_to
            while above is not None:
                if above == role:
                    found.add(name)
                    break
                above = self.registry.roles[above].reports_to
        return found

    def sees_all(self, role: str, object_name: str, level: str) -> bool:
        granted_here = self.role(role).permissions(object_name)
        return self.role(role).admin or "modify_all" in granted_here or (level == "read" and "view_all" in granted_here)

    # ------------------------------------------------------------------ fields
    def hidden(self, role: str, object_name: str) -> frozenset[str]:
        return self._hidden[role].get(object_name, frozenset())

    def readable(self, role: str, object_name: str) -> set[str]:
        return set(self.registry.object(object_name).fields) - self.hidden(role, object_name)

    def read_only(self, role: str, object_name: str) -> set[str]:
        """Fields the role sees but may not change: computed, system (but the owner),
        read-only in metadata, or read-only by the role."""
        rules = self.role(role).fields
        return {f.name for f in self.registry.object(object_name).fields.values()
                if f.name not in self.hidden(role, object_name)
                and (not writable(f) or rules.get((object_name, f.name)) == "read_only")}

    def role_read_only(self, role: str, object_name: str) -> set[str]:
        """Fields anybody else could write that the role's rules make read-only."""
        return {name for (obj, name), level in self.role(role).fields.items()
                if obj == object_name and level == "read_only"}

    def writable(self, role: str, object_name: str) -> set[str]:
        return self.readable(role, object_name) - self.read_only(role, object_name)

    def _hidden_fields(self, role: RoleDef) -> dict[str, frozenset[str]]:
        """Hidden fields per object: the role's, and every formula reading one of them, also
        through lookups (``account.annual_revenue`` from a contact)."""
        if role.admin:
            return {}
        hidden: dict[str, set[str]] = {name: set() for name in self.registry.objects}
        for (object_name, name), level in role.fields.items():
            if level == "hidden":
                hidden[object_name].add(name)
        changed = True
        while changed:
            changed = False
            for obj in self.registry.objects.values():
                for f in obj.fields.values():
                    if f.formula is None or f.name in hidden[obj.name]:
                        continue
                    if any(self._reads_hidden(obj, path, hidden) for path in f.formula.references):
                        hidden[obj.name].add(f.name)
                        changed = True
        return {name: frozenset(found) for name, found in hidden.items() if found}

    def _reads_hidden(self, obj: ObjectDef, path: tuple[str, ...], hidden: dict[str, set[str]]) -> bool:
        for step in path:
            if step in hidden[obj.name]:
                return True
            f = obj.fields.get(step)
            if f is None or not f.target or f.target not in self.registry.objects:
                return False
            obj = self.registry.object(f.target)
        return False


# ------------------------------------------------------------------------------ the arranged org

@dataclass
class Matrix:
    """The org of the matrix: a user per role and the outsider, each owning a record of
    every object (``records``), and what the tests send."""

    api: Api
    meta: Metadata
    copier: Copier
    worlds: dict[str, World]
    #: (user name, object) -> id of the user's record
    records: dict[tuple[str, str], int] = field(default_factory=dict)
    #: (role, owner, object) -> a record of the owner's nothing points at, for the role to delete
    doomed: dict[tuple[str, str, str], int] = field(default_factory=dict)
    #: object -> {id: owner's user name}, for every record arranged
    owners: dict[str, dict[int, str]] = field(default_factory=dict)
    _changeable: dict[tuple[str, int, str], bool] = field(default_factory=dict)
    _serial: Any = field(default_factory=lambda: itertools.count(1))

    @property
    def service(self) -> Any:
        return self.api.records

    def user_id(self, username: str) -> int:
        return self.api.users[username]

    def owner(self, object_name: str, record_id: int) -> str:
        return self.owners[object_name][record_id]

    def everyones(self, object_name: str) -> dict[str, int]:
        """Each user's record of ``object_name``: {user name: id}."""
        return {user: self.records[(user, object_name)] for user in self.worlds}

    def telling(self, role: str, object_name: str, permission: str) -> dict[str, int]:
        """The records that tell whether ``role`` gets ``permission`` right on a record: its
        own, the outsider's, and those of the roles below it (the hierarchy); without the
        permission on the object, any record gets 403, so its own and the outsider's."""
        users = [role, OUTSIDER]
        if self.meta.may(role, object_name, permission):
            users += sorted(self.meta.below(role))
        return {user: self.records[(user, object_name)] for user in users}

    def another(self, username: str, object_name: str) -> int:
        """A further record of ``username``'s that nothing points at (for deleting)."""
        record_id = self.copier.another(self.worlds[username], object_name)
        self.owners[object_name][record_id] = username
        return record_id

    def arrange(self) -> None:
        """Each user's record of every object; and for each role that may delete an object,
        a record of its user's and one of the outsider's for it to delete."""
        with self.copier.batch():
            for user, world in self.worlds.items():
                for name in OBJECTS:
                    self.records[(user, name)] = self.copier.record(world, name)
            for user, world in self.worlds.items():
                for (name, _demo, _new), record_id in world.copies.items():
                    if record_id is not None and name in self.owners:
                        self.owners[name][record_id] = user
            for name, role in cells("delete"):
                for owner in (role, OUTSIDER):
                    self.doomed[(role, owner, name)] = self.another(owner, name)
            self._probe_changes()

    def version(self, object_name: str, record_id: int) -> int:
        return self.service.get(object_name, record_id)["version"]

    # ------------------------------------------------------------------ record level
    def reaches(self, role: str, object_name: str, record_id: int, level: str) -> bool:
        """Whether the user of ``role`` may ``level`` (read/edit) this record, by the metadata."""
        if self.meta.sees_all(role, object_name, level):
            return True
        owner = self.owner(object_name, record_id)
        if owner == role or (owner in self.meta.registry.roles and owner in self.meta.below(role)):
            return True
        return self.shared(role, object_name, record_id, level)

    def shared(self, role: str, object_name: str, record_id: int, level: str) -> bool:
        """Whether a sharing rule of ``role`` or of a role below it gives it this record (``level``)."""
        from tessera.metadata.filters import Condition, Group

        accepted = ("read", "edit") if level == "read" else ("edit",)
        for name in {role} | self.meta.below(role):
            for rule in self.meta.role(name).sharing:
                if rule.object == object_name and rule.access in accepted:
                    this = Group("and", (rule.filter, Condition(("id",), "eq", record_id)))
                    if self.service.count(object_name, filter=this).value:
                        return True
        return False

    # ------------------------------------------------------------------ writing
    def change(self, role: str, object_name: str, record_id: int) -> dict[str, Any]:
        """A small change the role may make to this record: a new text in a free-text field no
        rule, formula or sharing rule reads, which the system could save ({} when there is none)."""
        text = f"changed {next(self._serial)}"
        for name in sorted(self.free_text(object_name) & self.meta.writable(role, object_name)):
            key = (object_name, record_id, name)
            if key not in self._changeable:
                self._changeable[key] = self._would_update(object_name, record_id, {name: text})
            if self._changeable[key]:
                return {name: text}
        return {}

    def _probe_changes(self) -> None:
        """Which free-text field of each user's record the system could change (the first that
        works, in name order): found in the arranging batch rather than one transaction each."""
        for (_user, object_name), record_id in self.records.items():
            for name in sorted(self.free_text(object_name)):
                works = self._would_update(object_name, record_id, {name: "probe"})
                self._changeable[(object_name, record_id, name)] = works
                if works:
                    break

    def free_text(self, object_name: str) -> set[str]:
        return free_text(self.meta.registry, object_name)

    def _would_update(self, object_name: str, record_id: int, values: dict[str, Any]) -> bool:
        """Whether the system could make this change (nothing is kept)."""
        return self.copier.update(object_name, record_id, values, keep=False)


def different(f: FieldDef, current: Any) -> Any:
    """A valid value of ``f`` other than ``current`` (JSON), for fields it is about; for
    computed and read-only fields anything other than the current value."""
    kind = f.result if f.type in ("formula", "rollup") and f.result else f.type
    if kind in ("text", "textarea", "auto_number"):
        text = f"{current or ''}changed"
        return text[-f.max_length:] if f.max_length else text
    if kind == "email":
        return "changed@example.com" if current != "changed@example.com" else "other@example.com"
    if kind == "phone":
        return "13900139000" if current != "13900139000" else "13700137000"
    if kind == "url":
        return "https://example.com/changed" if current != "https://example.com/changed" else "https://example.org"
    if kind == "integer":
        return (current or 0) + 1 if f.max is None or (current or 0) + 1 <= f.max else (current or 0) - 1
    if kind in ("decimal", "currency", "percent"):
        number = Decimal(str(current or 0))
        bigger = number + 1
        return str(bigger if f.max is None or bigger <= Decimal(str(f.max)) else number - 1)
    if kind == "boolean":
        return not current
    if kind == "date":
        day = dt.date.fromisoformat(current) if current else dt.date.today()
        return (day - dt.timedelta(days=1)).isoformat()
    if kind == "datetime":
        moment = dt.datetime.fromisoformat(current) if current else dt.datetime.now(dt.UTC)
        return (moment - dt.timedelta(hours=1)).isoformat()
    if kind == "picklist":
        return next(o.value for o in f.options if o.active and o.value != current)
    if kind == "multi_picklist":
        first = [o.value for o in f.options if o.active][:1]
        return first if current != first else [o.value for o in f.options if o.active][1:2]
    if kind in ("lookup", "master_detail") or f.target:
        return (current or 0) + 1
    if kind == "json":
        return {"changed": True}
    return f"{current}changed"


@pytest.fixture(scope="module")
def matrix(api: Api, l2c_templates: Any) -> Matrix:
    """The matrix's org, arranged as the system: users, and each one's record of every object."""
    org = api.another_org("matrix", {**{role: role for role in ROLES}, OUTSIDER: "admin"})
    registry = org.records.registry
    assert sorted(obj.name for obj in l2c_objects(registry)) == OBJECTS
    assert {name: registry.roles[name].objects for name in ROLES} == {name: PACKAGE.roles[name].objects for name in ROLES}
    copier = Copier(org.records, l2c_templates)
    worlds = {user: World(org.users[user]) for user in (*ROLES, OUTSIDER)}
    matrix = Matrix(org, Metadata(registry), copier, worlds, owners={name: {} for name in OBJECTS})
    matrix.arrange()
    return matrix


def requests_said(lines: Iterable[str]) -> str:
    return "\n".join(lines)


# ------------------------------------------------------------------------------ object level: list and get

@pytest.mark.parametrize(("object_name", "role"), CELLS, ids=cell_id)
def test_a_list_shows_exactly_the_records_the_role_reaches_or_is_403(matrix, object_name, role):
    everyone = matrix.everyones(object_name)
    response = matrix.api.get(f"/api/v1/{object_name}", user=role, query_string={
        "id__in": ",".join(str(i) for i in everyone.values()), "limit": 1000, "fields": "id"})
    if not matrix.meta.may(role, object_name, "read"):
        is_problem(response, 403, "forbidden")
        return
    assert response.status_code == 200, response.get_json()
    expected = {user for user, record_id in everyone.items() if matrix.reaches(role, object_name, record_id, "read")}
    got = {matrix.owner(object_name, row["id"]) for row in response.get_json()["data"]}
    assert got == expected, f"{role} lists {object_name} records of {sorted(got)}; the metadata says {sorted(expected)}"
    assert response.get_json()["count"]["value"] == len(expected)


@pytest.mark.parametrize(("object_name", "role"), CELLS, ids=cell_id)
def test_getting_a_record_is_200_when_reached_404_when_not_and_403_without_read(matrix, object_name, role):
    wrong = []
    for owner, record_id in matrix.telling(role, object_name, "read").items():
        if not matrix.meta.may(role, object_name, "read"):
            expected = 403
        else:
            expected = 200 if matrix.reaches(role, object_name, record_id, "read") else 404
        response = matrix.api.get(f"/api/v1/{object_name}/{record_id}", user=role)
        if response.status_code != expected:
            wrong.append(f"GET {owner}'s {object_name} {record_id} as {role}: {response.status_code}, expected {expected}")
        elif expected == 200:
            assert response.get_json()["id"] == record_id
        else:
            is_problem(response, expected, "forbidden" if expected == 403 else "not-found")
    assert not wrong, requests_said(wrong)


# ------------------------------------------------------------------------------ object level: writes

@pytest.mark.parametrize(("object_name", "role"), CELLS, ids=cell_id)
def test_creating_is_201_with_create_permission_and_403_without(matrix, object_name, role):
    meta = matrix.meta
    unwritable = meta.hidden(role, object_name) | meta.role_read_only(role, object_name)
    may_create = meta.may(role, object_name, "create")

    def valid(name: str, values: dict[str, Any]) -> bool:  # as far as the record's data goes
        return not may_create or matrix.copier.would_create(name, allowed(values))

    def allowed(values: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in values.items() if k not in unwritable}

    body = allowed(matrix.copier.body(matrix.worlds[role], object_name, check=valid))
    response = matrix.api.post(f"/api/v1/{object_name}", json_body(body), user=role)
    if not may_create:
        is_problem(response, 403, "forbidden")
        return
    obj = meta.registry.object(object_name)
    unreadable = {name for name in body if obj.fields[name].target in meta.registry.objects
                  and not meta.may(role, obj.fields[name].target, "read")}
    if unreadable:  # a lookup may only point at a record the role can see
        problem = is_problem(response, 422, "validation")
        assert set(problem["errors"]) == unreadable
        return
    assert response.status_code == 201, f"{role} creating {object_name}: {response.get_json()}"
    created = response.get_json()
    assert created["owner_id"] == matrix.user_id(role)
    assert response.headers["Location"].endswith(f"/api/v1/{object_name}/{created['id']}")
    assert matrix.service.get(object_name, created["id"])["owner_id"] == matrix.user_id(role)


def expected_write(matrix: Matrix, role: str, object_name: str, permission: str, record_id: int) -> int:
    """The status a change (``edit``) or delete of this record must get."""
    if not matrix.meta.may(role, object_name, permission):
        return 403
    if not matrix.reaches(role, object_name, record_id, "read"):
        return 404
    if not matrix.reaches(role, object_name, record_id, "edit"):
        return 403
    return 204 if permission == "delete" else 200


@pytest.mark.parametrize(("object_name", "role"), CELLS, ids=cell_id)
def test_updating_needs_edit_and_someone_elses_record_needs_modify_all_or_to_be_reached(matrix, object_name, role):
    wrong = []
    for owner, record_id in matrix.telling(role, object_name, "edit").items():
        expected = expected_write(matrix, role, object_name, "edit", record_id)
        change = matrix.change(role, object_name, record_id)
        version = matrix.version(object_name, record_id)
        response = matrix.api.patch(f"/api/v1/{object_name}/{record_id}", change, user=role,
                                    headers={"If-Match": f'"{version}"'})
        if response.status_code != expected:
            wrong.append(f"PATCH {owner}'s {object_name} {record_id} {change} as {role}: "
                         f"{response.status_code} {response.get_json()}, expected {expected}")
            continue
        if expected == 200:
            saved = response.get_json()
            assert all(saved[name] == value for name, value in change.items()), (change, saved)
            assert saved["version"] == version + (1 if change else 0)
        else:
            is_problem(response, expected, "forbidden" if expected == 403 else "not-found")
            assert matrix.version(object_name, record_id) == version  # nothing was written
    assert not wrong, requests_said(wrong)


@pytest.mark.parametrize(("object_name", "role"), CELLS, ids=cell_id)
def test_deleting_needs_delete_and_someone_elses_record_needs_modify_all_or_to_be_reached(matrix, object_name, role):
    from tessera.records import RecordNotFound

    wrong = []
    for owner in (role, OUTSIDER):
        # a record of the owner's nothing points at (when it could go); else the owner's record, which stays
        record_id = matrix.doomed.get((role, owner, object_name)) or matrix.records[(owner, object_name)]
        expected = expected_write(matrix, role, object_name, "delete", record_id)
        response = matrix.api.delete(f"/api/v1/{object_name}/{record_id}", user=role)
        if response.status_code != expected:
            wrong.append(f"DELETE {owner}'s {object_name} {record_id} as {role}: "
                         f"{response.status_code} {response.get_json()}, expected {expected}")
            continue
        if expected == 204:
            with pytest.raises(RecordNotFound):
                matrix.service.get(object_name, record_id)
        else:
            is_problem(response, expected, "forbidden" if expected == 403 else "not-found")
            assert matrix.service.get(object_name, record_id)["id"] == record_id  # still there
    assert not wrong, requests_said(wrong)


@pytest.mark.parametrize(("object_name", "role"), CELLS, ids=cell_id)
def test_an_id_no_record_has_tells_nothing_403_without_the_permission_else_404(matrix, object_name, role):
    """Were "no such record" answered before the object permission, a role that may not change
    an object would learn which ids exist (403 for them, 404 for the others)."""
    url = f"/api/v1/{object_name}/{NOWHERE}"
    api = matrix.api
    calls = {
        "GET": ("read", lambda: api.get(url, user=role)),
        "GET history": ("read", lambda: api.get(f"{url}/history", user=role)),
        "PATCH": ("edit", lambda: api.patch(url, {}, user=role, headers={"If-Match": '"1"'})),
        "DELETE": ("delete", lambda: api.delete(url, user=role)),
        "POST restore": ("delete", lambda: api.post(f"{url}/restore", user=role)),
    }
    wrong = []
    for what, (permission, call) in calls.items():
        expected = 404 if matrix.meta.may(role, object_name, permission) else 403
        response = call()
        if response.status_code != expected:
            wrong.append(f"{what} {object_name} {NOWHERE} as {role}: {response.status_code}, expected {expected}")
        else:
            is_problem(response, expected, "forbidden" if expected == 403 else "not-found")
    assert not wrong, requests_said(wrong)


# ------------------------------------------------------------------------------ field level

@pytest.mark.parametrize(("object_name", "role"), cells("read"), ids=cell_id)
def test_a_record_and_a_list_carry_exactly_the_fields_the_role_does_not_hide(matrix, object_name, role):
    record_id = matrix.records[(role, object_name)]
    expected = matrix.meta.readable(role, object_name)
    one = matrix.api.get(f"/api/v1/{object_name}/{record_id}", user=role)
    assert one.status_code == 200, one.get_json()
    page = matrix.api.get(f"/api/v1/{object_name}", user=role, query_string={"id": record_id})
    (row,) = page.get_json()["data"]
    for where, got in (("GET", set(one.get_json())), ("list", set(row))):
        assert got == expected, (f"{where} {object_name} as {role}: hidden fields shown {sorted(got - expected)}, "
                                 f"visible fields missing {sorted(expected - got)}")


@pytest.mark.parametrize(("object_name", "role"), cells("edit"), ids=cell_id)
def test_each_field_is_writable_unless_hidden_or_read_only_for_the_role(matrix, object_name, role):
    meta = matrix.meta
    record_id = matrix.records[(role, object_name)]
    url = f"/api/v1/{object_name}/{record_id}"
    response = matrix.api.get(url, user=role)
    assert response.status_code == 200, response.get_json()
    record, etag = response.get_json(), response.headers["ETag"]
    obj = meta.registry.object(object_name)

    hidden = sorted(meta.hidden(role, object_name))
    if hidden:  # a hidden field does not exist for the role
        refused = matrix.api.patch(url, {name: "1" for name in hidden}, user=role, headers={"If-Match": etag})
        errors = is_problem(refused, 422, "validation")["errors"]
        assert errors == {name: [UNKNOWN_FIELD.format(name)] for name in hidden}

    read_only = sorted(meta.read_only(role, object_name))
    refused = matrix.api.patch(url, {name: different(obj.fields[name], record.get(name)) for name in read_only},
                               user=role, headers={"If-Match": etag})
    errors = is_problem(refused, 422, "validation")["errors"]
    assert set(errors) == set(read_only), (f"{object_name} as {role}: refused {sorted(set(errors) - set(read_only))} "
                                           f"though writable; accepted {sorted(set(read_only) - set(errors))} "
                                           "though read-only")
    assert all(messages == [READ_ONLY] for messages in errors.values()), errors

    # every field the role may write is taken; those its role makes read-only may come back unchanged
    sent = {name: record[name] for name in meta.writable(role, object_name) | meta.role_read_only(role, object_name)}
    accepted = matrix.api.patch(url, sent, user=role, headers={"If-Match": etag})
    assert accepted.status_code == 200, f"{object_name} as {role} sending {sorted(sent)}: {accepted.get_json()}"
    assert accepted.headers["ETag"] == etag  # the same values: nothing changed


def test_the_matrix_covers_every_l2c_object_and_role(matrix):
    """Every object of the package could be made (none left out) and every role has a user."""
    assert matrix.copier.templates.unmade == {}
    assert set(ROLES) <= set(matrix.api.users) and len(OBJECTS) == len(PACKAGE.objects)
