"""The authorization matrix (issue 6) through the screens: every object of the L2C package × every
role of the package, with Flask's test client signed in as a user of that role.

The API matrix (tests/api/test_authorization_matrix.py) works out what each cell must answer
from the compiled metadata; this module reuses its rules (``Metadata``, ``Matrix.reaches``,
``expected_write``) and its arrangement (a user per role plus an ``outsider``, each owning a
record of every object copied from the demo company), so the screens are held to the same
answers:

* the list page ``/o/<object>`` is 403 without read, else it lists exactly the records reached;
* the record page ``/o/<object>/<id>`` is 403 without read, 404 for a record not reached, else 200;
* the new-record form is 200 with create, else 403; the edit form (and its POST) and delete
  (the record page's button and the list's bulk delete) need the permission on the object (403)
  and the record reached (404 when unseen, 403 when seen but not theirs to change);
* a field the role hides is nowhere in the list page, record page or edit form (neither its
  value, stored as a marker, nor its input), and a field read-only for the role is a disabled
  widget that posts nothing.

One org, arranged once for the module on SQLite; logins through ``/login`` as a browser does.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from tests.api.conftest import Api
from tests.api.l2c_records import Copier, World, l2c_objects, load_templates
from tests.api.test_authorization_matrix import (
    CELLS,
    OBJECTS,
    OUTSIDER,
    PACKAGE,
    ROLES,
    Matrix,
    Metadata,
    cell_id,
    cells,
    expected_write,
    requests_said,
)

_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
_ROW = re.compile(r'<tr data-id="(\d+)"')


@dataclass
class Screens:
    """The matrix's org and a signed-in test client per user."""

    matrix: Matrix
    clients: dict[str, Any]
    csrf: dict[str, str]
    #: object -> field -> the marker values stored in that (hidden somewhere) field
    markers: dict[str, dict[str, set[str]]]

    def get(self, user: str, path: str, **kwargs: Any) -> Any:
        return self.clients[user].get(path, **kwargs)

    def post(self, user: str, path: str, data: Any = None, **kwargs: Any) -> Any:
        headers = {"X-CSRFToken": self.csrf[user], **kwargs.pop("headers", {})}
        return self.clients[user].post(path, data=data or {}, headers=headers, **kwargs)


def sign_in(app: Any, org: str, username: str, password: str) -> tuple[Any, str]:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"csrf_token": _CSRF.search(page).group(1), "org": org,
                                           "username": username, "password": password})
    assert response.status_code == 303, response.get_data(as_text=True)
    client.get("/?lang=en")
    return client, _CSRF.search(client.get("/").get_data(as_text=True)).group(1)


def hidden_anywhere(meta: Metadata) -> dict[str, set[str]]:
    """object -> the fields some role of the package hides on it."""
    found: dict[str, set[str]] = {}
    for role in ROLES:
        for name in OBJECTS:
            if meta.hidden(role, name):
                found.setdefault(name, set()).update(meta.hidden(role, name))
    return found


def shown_as(value: Any) -> set[str]:
    """How a stored value may appear on a page (raw, and as numbers are grouped for people)."""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        number = Decimal(str(value))
        texts = {str(value), f"{number:,}", f"{number:,.2f}", f"{number:.2f}"}
        return {text for text in texts if len(text.replace(",", "")) >= 6}  # too short to be unique otherwise
    return {str(value)} if value not in (None, "", [], False, True) else set()


@pytest.fixture(scope="module")
def screens(tmp_path_factory) -> Any:
    from tessera.app import create_app
    from tessera.orgs import create_org

    folder = tmp_path_factory.mktemp("matrix-screens")
    password = "correct horse battery"
    settings = {"TESTING": True, "SECRET_KEY": "test", "PASSWORD_PROFILE": "CHEAPEST", "PACKAGES": "l2c",
                "PLUGINS": "", "OVERLAY_DIR": "", "LOGIN_RATE_LIMIT": "1000 per minute",
                "DATABASE_URL": f"sqlite:///{folder / 'instance' / 'tessera.db'}"}
    app = create_app(settings)
    org_name = f"matrix_{uuid.uuid4().hex[:8]}"
    create_org(app.config, org_name, plugins=app.extensions["tessera.plugins"])
    try:
        api = Api(app, org_name, {}, "sqlite")
        api.add_users({**{role: (role, "en") for role in ROLES}, OUTSIDER: ("admin", "en")})
        registry = api.records.registry
        assert sorted(obj.name for obj in l2c_objects(registry)) == OBJECTS
        copier = Copier(api.records, load_templates(tmp_path_factory.mktemp("l2c-templates")))
        worlds = {user: World(api.users[user]) for user in (*ROLES, OUTSIDER)}
        matrix = Matrix(api, Metadata(registry), copier, worlds, owners={name: {} for name in OBJECTS})
        matrix.arrange()
        markers = _store_markers(matrix)
        clients, tokens = {}, {}
        for user in (*ROLES, OUTSIDER):
            clients[user], tokens[user] = sign_in(app, org_name, user, password)
        yield Screens(matrix, clients, tokens, markers)
    finally:
        app.extensions["tessera.orgs"].close()
        app.extensions["tessera.platform"].dispose()


def _store_markers(matrix: Matrix) -> dict[str, dict[str, set[str]]]:
    """A value nobody else has in each writable field some role hides, on every user's record
    (formulas reading it follow); then what every hidden field holds, as pages would show it."""
    meta = matrix.meta
    markers: dict[str, dict[str, set[str]]] = {}
    serial = 0
    for object_name, names in sorted(hidden_anywhere(meta).items()):
        obj = meta.registry.object(object_name)
        for user in matrix.worlds:
            record_id = matrix.records[(user, object_name)]
            for name in sorted(names):
                f = obj.fields[name]
                if f.stored and not f.computed and not f.system and not f.read_only:
                    serial += 1
                    value = _marker(f, serial)
                    assert matrix.copier.update(object_name, record_id, {name: value}), (object_name, name)
            record = matrix.service.get(object_name, record_id)
            for name in names:
                markers.setdefault(object_name, {}).setdefault(name, set()).update(shown_as(record.get(name)))
    for object_name, fields in markers.items():
        for name, found in fields.items():
            assert found, f"no marker in {object_name}.{name}"
    return markers


def _marker(f: Any, serial: int) -> Any:
    if f.type in ("text", "textarea"):
        return f"HIDDEN{serial:04d}X{uuid.uuid4().hex[:6]}"
    return str(Decimal("7314285") + Decimal(serial * 1013) + Decimal("0.37"))


def listed(html: str) -> set[int]:
    return {int(found) for found in _ROW.findall(html)}


# ------------------------------------------------------------------------------ lists and record pages

@pytest.mark.parametrize(("object_name", "role"), CELLS, ids=cell_id)
def test_the_list_page_lists_exactly_the_records_the_role_reaches_or_is_403(screens, object_name, role):
    matrix = screens.matrix
    everyone = matrix.everyones(object_name)
    response = screens.get(role, f"/o/{object_name}", query_string={
        "view": "all", "id__in": ",".join(str(i) for i in everyone.values())})
    if not matrix.meta.may(role, object_name, "read"):
        assert response.status_code == 403, response.status_code
        return
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    expected = {user for user, record_id in everyone.items() if matrix.reaches(role, object_name, record_id, "read")}
    got = {matrix.owner(object_name, record_id) for record_id in listed(html)}
    assert got == expected, f"{role} lists {object_name} records of {sorted(got)}; the metadata says {sorted(expected)}"


@pytest.mark.parametrize(("object_name", "role"), CELLS, ids=cell_id)
def test_the_record_page_is_200_when_reached_404_when_not_and_403_without_read(screens, object_name, role):
    matrix = screens.matrix
    wrong = []
    for owner, record_id in matrix.telling(role, object_name, "read").items():
        if not matrix.meta.may(role, object_name, "read"):
            expected = 403
        else:
            expected = 200 if matrix.reaches(role, object_name, record_id, "read") else 404
        response = screens.get(role, f"/o/{object_name}/{record_id}")
        if response.status_code != expected:
            wrong.append(f"GET /o/{object_name}/{record_id} ({owner}'s) as {role}: {response.status_code}, "
                         f"expected {expected}")
    assert not wrong, requests_said(wrong)


# ------------------------------------------------------------------------------ forms and deleting

@pytest.mark.parametrize(("object_name", "role"), CELLS, ids=cell_id)
def test_the_new_record_form_is_200_with_create_permission_and_403_without(screens, object_name, role):
    response = screens.get(role, f"/o/{object_name}/new")
    expected = 200 if screens.matrix.meta.may(role, object_name, "create") else 403
    assert response.status_code == expected, response.get_data(as_text=True)[:2000]
    if expected == 200:
        assert 'id="record-form"' in response.get_data(as_text=True)


@pytest.mark.parametrize(("object_name", "role"), CELLS, ids=cell_id)
def test_the_edit_form_needs_edit_and_someone_elses_record_needs_modify_all_or_to_be_reached(
        screens, object_name, role):
    matrix = screens.matrix
    wrong = []
    for owner, record_id in matrix.telling(role, object_name, "edit").items():
        expected = expected_write(matrix, role, object_name, "edit", record_id)
        response = screens.get(role, f"/o/{object_name}/{record_id}/edit")
        if response.status_code != expected:
            wrong.append(f"GET /o/{object_name}/{record_id}/edit ({owner}'s) as {role}: {response.status_code}, "
                         f"expected {expected}")
        elif expected == 200:
            assert 'id="record-form"' in response.get_data(as_text=True)
    assert not wrong, requests_said(wrong)


@pytest.mark.parametrize(("object_name", "role"), CELLS, ids=cell_id)
def test_posting_the_edit_form_without_the_right_to_change_the_record_is_refused_and_writes_nothing(
        screens, object_name, role):
    matrix = screens.matrix
    wrong = []
    for owner, record_id in matrix.telling(role, object_name, "edit").items():
        expected = expected_write(matrix, role, object_name, "edit", record_id)
        if expected == 200:
            continue  # allowed: the form tests (tests/web/test_forms.py) save through it
        version = matrix.version(object_name, record_id)
        change = matrix.change("admin", object_name, record_id) or {"id": record_id}
        response = screens.post(role, f"/o/{object_name}/{record_id}/edit", {**change, "version": version})
        if response.status_code != expected:
            wrong.append(f"POST /o/{object_name}/{record_id}/edit ({owner}'s) {change} as {role}: "
                         f"{response.status_code}, expected {expected}")
        assert matrix.version(object_name, record_id) == version, f"{role} changed {owner}'s {object_name}"
    assert not wrong, requests_said(wrong)


@pytest.mark.parametrize(("object_name", "role"), CELLS, ids=cell_id)
def test_deleting_from_the_record_page_needs_delete_and_someone_elses_record_needs_modify_all_or_to_be_reached(
        screens, object_name, role):
    from tessera.records import RecordNotFound

    matrix = screens.matrix
    wrong = []
    for owner in (role, OUTSIDER):
        record_id = matrix.doomed.get((role, owner, object_name)) or matrix.records[(owner, object_name)]
        expected = expected_write(matrix, role, object_name, "delete", record_id)
        version = matrix.version(object_name, record_id)
        response = screens.post(role, f"/o/{object_name}/{record_id}/delete", {"version": version})
        answered = 204 if response.status_code == 303 else response.status_code
        if answered != expected:
            wrong.append(f"POST /o/{object_name}/{record_id}/delete ({owner}'s) as {role}: {response.status_code}, "
                         f"expected {'303' if expected == 204 else expected}")
            continue
        if expected == 204:
            assert response.headers["Location"].endswith(f"/o/{object_name}")
            with pytest.raises(RecordNotFound):
                matrix.service.get(object_name, record_id)
        else:
            assert matrix.service.get(object_name, record_id)["version"] == version  # still there
    assert not wrong, requests_said(wrong)


@pytest.mark.parametrize(("object_name", "role"), CELLS, ids=cell_id)
def test_bulk_delete_from_the_list_deletes_nothing_the_role_may_not_delete(screens, object_name, role):
    """Every user's record of the object selected at once: those the role may not delete stay
    (the allowed ones are left out, so the other tests keep their records)."""
    matrix = screens.matrix
    refused = {owner: record_id for owner, record_id in matrix.everyones(object_name).items()
               if expected_write(matrix, role, object_name, "delete", record_id) != 204}
    if not refused:
        return
    versions = {record_id: matrix.version(object_name, record_id) for record_id in refused.values()}
    response = screens.post(role, f"/o/{object_name}/bulk", {
        "action": "delete", "state": "view=all",
        "selected": [f"{record_id}:{version}" for record_id, version in versions.items()]},
        headers={"HX-Request": "true"})
    expected = 200 if matrix.meta.may(role, object_name, "read") else 403
    assert response.status_code == expected, response.get_data(as_text=True)[:2000]
    if expected == 200:
        assert "Records deleted: 0." in response.get_data(as_text=True) or 'id="bulk-refused"' in \
            response.get_data(as_text=True)
    for owner, record_id in refused.items():
        assert matrix.service.get(object_name, record_id)["version"] == versions[record_id], \
            f"{role} bulk-deleted {owner}'s {object_name}"


# ------------------------------------------------------------------------------ field level

def field_traces(html: str, name: str) -> list[str]:
    """Where a page mentions field ``name`` as markup does: inputs, labels, widgets, detail rows,
    list columns, sort links, filter options, the form's JSON state."""
    n = re.escape(name)
    pattern = (rf'(?:data-column|name|value|for|id)="(?:[dfw]-)?{n}(?:-[\w-]*)?"'
               rf'|sort=-?{n}(?=["&,])|&#34;{n}&#34;|"{n}":')
    return re.findall(pattern, html)


HIDING = [(obj, role) for obj, role in cells("read") if Metadata(PACKAGE).hidden(role, obj)]
READ_ONLY_FOR_ROLE = [(obj, role) for obj, role in cells("edit") if Metadata(PACKAGE).role_read_only(role, obj)]


def test_the_field_level_cells_are_not_empty():
    """L2C's roles hide and protect fields; should they stop, the field-level tests test nothing."""
    assert HIDING and READ_ONLY_FOR_ROLE


@pytest.mark.parametrize(("object_name", "role"), HIDING, ids=cell_id)
def test_a_hidden_field_is_on_no_list_record_page_related_list_or_edit_form(screens, object_name, role):
    matrix = screens.matrix
    meta = matrix.meta
    hidden = meta.hidden(role, object_name)
    markers = {value for name in hidden for value in screens.markers[object_name].get(name, ())}
    assert markers, f"no marker stored for {object_name}'s hidden fields"
    everyone = matrix.everyones(object_name)
    reached = [record_id for record_id in everyone.values() if matrix.reaches(role, object_name, record_id, "read")]
    own = matrix.records[(role, object_name)]
    pages = {f"/o/{object_name}?view=all": "list"}
    pages.update({f"/o/{object_name}/{record_id}": "record" for record_id in reached})
    if meta.may(role, object_name, "edit"):
        pages[f"/o/{object_name}/{own}/edit"] = "form"
    # the related lists of the records that list this object's records (a parent's page)
    for parent in meta.registry.objects.values():
        if parent.name not in OBJECTS or not meta.may(role, parent.name, "read"):
            continue
        for relation in parent.relations:
            if relation.object == object_name:
                pages[f"/o/{parent.name}/{matrix.records[(role, parent.name)]}/related/{relation.name}"] = "related"
    wrong = []
    for path in pages:
        response = screens.get(role, path)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, (path, response.status_code)
        if path.endswith("?view=all"):
            assert own in listed(html)
        shown = sorted(marker for marker in markers if marker in html)
        traces = {name: field_traces(html, name) for name in sorted(hidden)}
        if shown or any(traces.values()):
            wrong.append(f"{path} as {role} shows hidden values {shown} / fields {traces}")
    assert not wrong, requests_said(wrong)


@pytest.mark.parametrize(("object_name", "role"), READ_ONLY_FOR_ROLE, ids=cell_id)
def test_a_field_read_only_for_the_role_is_disabled_on_the_edit_form_and_posts_nothing(screens, object_name, role):
    matrix = screens.matrix
    own = matrix.records[(role, object_name)]
    html = screens.get(role, f"/o/{object_name}/{own}/edit").get_data(as_text=True)
    for name in sorted(matrix.meta.role_read_only(role, object_name)):
        widget = re.search(rf'<(?:input|textarea|select|output|fieldset)\b[^>]*\bid="f-{re.escape(name)}"[^>]*>', html)
        assert widget is not None, f"{object_name}.{name} is not on {role}'s edit form"
        assert "disabled" in widget.group(0) or widget.group(0).startswith("<output"), widget.group(0)
        assert f'name="{name}"' not in html, f"{object_name}.{name} can be posted by {role}"
    for name in sorted(matrix.meta.writable(role, object_name) & set(matrix.free_text(object_name))):
        assert f'name="{name}"' in html or f'id="f-{name}"' not in html  # writable ones stay inputs
