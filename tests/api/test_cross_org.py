"""Two orgs, one platform (issue 6): record ids repeat across orgs and mean nothing to each other.

Orgs ``alpha`` and ``bravo`` live in the same app — each its own SQLite file, or its own
PostgreSQL schema — and hold the same records of every L2C object, created in the same order,
so their ids are identical; each org's copies are owned by its own administrator, and free-text
search fields carry the org's own word. Bravo then gets more: two more records of every object
(ids alpha does not have), lines under a quote both orgs have, gadgets for the example plugin's
action; and it deletes a gadget alpha keeps.

Alpha's token must get 404 for every id only bravo has, whatever it tries (read, change, delete,
history, restore, actions, bulk); an id both have answers with alpha's record, never bravo's
data; lists, search, counts and expanded children hold alpha's records only; a lookup may not
point at a record only bravo has. The org is the token's (or the session's): no header, query
parameter or address names another one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from tessera.metadata.registry import build_org_registry
from tests.api.conftest import PASSWORD, Api, is_problem
from tests.api.l2c_records import Copier, World, free_text, json_body, l2c_objects

PACKAGE = build_org_registry(["l2c"])
OBJECTS = sorted(obj.name for obj in l2c_objects(PACKAGE))
#: objects with lookups anybody may set, to other objects
WITH_LOOKUPS = [name for name in OBJECTS if any(
    f.target in PACKAGE.objects and not (f.system or f.computed or f.read_only) for f in PACKAGE.object(name).fields.values())]
ALPHA_WORD, BRAVO_WORD = "alphaonly", "bravoonly"
#: a record id no org has
NOWHERE = 10**12


@dataclass
class Org:
    """One of the two orgs: its API, its copier and world, and the ids it holds per object."""

    api: Api
    copier: Copier
    world: World
    word: str
    ids: dict[str, set[int]] = field(default_factory=dict)
    #: a valid create body per object (made while arranging, so tests add no lookups' copies)
    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)
    marked: dict[str, tuple[str, set[int]]] = field(default_factory=dict)

    @property
    def records(self) -> Any:
        return self.api.records

    def read_ids(self, objects: list[str]) -> None:
        for name in objects:
            self.ids[name] = self.live_ids(name)

    def live_ids(self, name: str, *, include_deleted: bool = True) -> set[int]:
        """Every id of ``name`` the org holds now (deleted records too, unless told otherwise)."""
        ids: set[int] = set()
        cursor = None
        while True:
            page = self.records.query(name, fields=["id"], limit=1000, cursor=cursor, include_deleted=include_deleted)
            ids |= {row["id"] for row in page.rows}
            cursor = page.next_cursor
            if cursor is None:
                return ids

    def mark(self, name: str, record_ids: set[int]) -> None:
        """Put the org's word in a free-text search field of these records."""
        search = sorted(set(self.records.registry.object(name).search_fields) & free_text(self.records.registry, name))
        if not search:
            return
        done = {record_id for record_id in sorted(record_ids)  # a record in a state that takes no change is left
                if self.copier.update(name, record_id, {search[0]: f"{self.word} {name} {record_id}"})}
        field_name, marked = self.marked.get(name, (search[0], set()))
        self.marked[name] = (field_name, marked | done)


@dataclass
class TwoOrgs:
    alpha: Org
    bravo: Org
    objects: list[str]
    #: a quote both orgs have, and the lines only bravo put under it
    quote: int = 0
    bravo_lines: set[int] = field(default_factory=set)
    #: a gadget both orgs have that bravo deleted
    deleted_in_bravo: int = 0

    def only_bravo(self, name: str) -> set[int]:
        """Ids bravo has and alpha has not, now (tests add records to alpha as they go)."""
        alpha, bravo = self.alpha.live_ids(name), self.bravo.live_ids(name)
        found = bravo - alpha
        assert found, f"bravo should have {name} ids alpha has not"
        return found

    def common(self, name: str) -> set[int]:
        """Ids both orgs had when arranged (the records copied alike into both)."""
        return self.alpha.ids[name] & self.bravo.ids[name]


def _org(api: Api, prefix: str, word: str, templates: Any, users: dict[str, str]) -> Org:
    org = api.another_org(prefix, {"admin": "admin", "rep": "sales_rep", **users})
    return Org(org, Copier(org.records, templates), World(org.users["admin"]), word)


@pytest.fixture(scope="module")
def orgs(api: Api, l2c_templates: Any) -> TwoOrgs:
    alpha = _org(api, "alpha", ALPHA_WORD, l2c_templates, {"ann": "admin"})  # ann: only alpha has her
    bravo = _org(api, "bravo", BRAVO_WORD, l2c_templates, {})
    objects = sorted(obj.name for obj in l2c_objects(alpha.records.registry))
    assert objects == OBJECTS
    for org in (alpha, bravo):  # the same records, in the same order
        with org.copier.batch():
            for name in objects:
                org.copier.record(org.world, name)
            for name in WITH_LOOKUPS:
                org.bodies[name] = org.copier.body(org.world, name)
            for number in range(4):
                org.copier.create("gadget", {"name": f"{org.word} gadget {number}"})
        org.read_ids([*objects, "gadget"])
        with org.copier.batch():
            for name in objects:
                org.mark(name, org.ids[name])
    assert alpha.ids == bravo.ids, "the two orgs should hold the same ids"
    two = TwoOrgs(alpha, bravo, objects)

    with bravo.copier.batch():  # bravo's own: two more records of every object
        for extra in (World(bravo.world.owner), World(bravo.world.owner)):
            for name in objects:
                bravo.copier.record(extra, name)
        two.quote = bravo.world.first["quote"]
        two.bravo_lines = {bravo.copier.another(bravo.world, "quote_line") for _ in range(2)}
        for number in range(4, 7):
            bravo.copier.create("gadget", {"name": f"{bravo.word} gadget {number}"})
    before = {name: set(ids) for name, ids in bravo.ids.items()}
    bravo.read_ids([*objects, "gadget"])
    with bravo.copier.batch():
        for name in objects:
            bravo.mark(name, bravo.ids[name] - before[name])
    two.deleted_in_bravo = sorted(two.common("gadget"))[1]
    bravo.records.delete("gadget", two.deleted_in_bravo)
    return two


# ------------------------------------------------------------------------------ ids only bravo has

@pytest.mark.parametrize("object_name", [*OBJECTS, "gadget"])
def test_every_id_only_the_other_org_has_is_404_for_every_operation(orgs, object_name):
    alpha, bravo = orgs.alpha.api, orgs.bravo
    nowhere = {
        "get": alpha.get(f"/api/v1/{object_name}/{NOWHERE}", user="admin").get_json(),
        "history": alpha.get(f"/api/v1/{object_name}/{NOWHERE}/history", user="admin").get_json(),
    }
    for record_id in sorted(orgs.only_bravo(object_name)):
        url = f"/api/v1/{object_name}/{record_id}"
        before = bravo.records.get(object_name, record_id)
        answers = {
            "get": alpha.get(url, user="admin"),
            "history": alpha.get(f"{url}/history", user="admin"),
            "update": alpha.patch(url, {}, user="admin", headers={"If-Match": f'"{before["version"]}"'}),
            "restore": alpha.post(f"{url}/restore", user="admin"),
            "delete": alpha.delete(url, user="admin"),
        }
        for operation, response in answers.items():
            body = is_problem(response, 404, "not-found")
            if operation in nowhere:  # the same answer as for an id no org has: it reveals nothing
                assert body == {k: str(v).replace(str(NOWHERE), str(record_id)) if k == "detail" else v
                                for k, v in nowhere[operation].items()}
        assert bravo.records.get(object_name, record_id) == before  # untouched


def test_an_id_both_orgs_have_answers_with_the_callers_own_record(orgs):
    alpha, bravo = orgs.alpha, orgs.bravo
    wrong = []
    for name in orgs.objects:
        for record_id in sorted(orgs.common(name)):
            for org, other in ((alpha, bravo), (bravo, alpha)):
                response = org.api.get(f"/api/v1/{name}/{record_id}", user="admin")
                got = response.get_json()
                if response.status_code != 200 or got["owner_id"] != org.world.owner:
                    wrong.append(f"{org.api.org} GET {name} {record_id}: {response.status_code} {got}")
                    continue
                marked = org.marked.get(name)
                if marked and record_id in marked[1]:
                    assert org.word in got[marked[0]] and other.word not in got[marked[0]]
    assert not wrong, "\n".join(wrong)


def test_a_record_the_other_org_deleted_is_still_the_callers_and_restoring_it_does_not_reach_there(orgs):
    from tessera.records import RecordNotFound

    record_id = orgs.deleted_in_bravo
    alive = orgs.alpha.api.get(f"/api/v1/gadget/{record_id}", user="admin")
    assert alive.status_code == 200 and ALPHA_WORD in alive.get_json()["name"]
    is_problem(orgs.bravo.api.get(f"/api/v1/gadget/{record_id}", user="admin"), 404, "not-found")
    # alpha's own gadget is not in the recycle bin, so there is nothing to restore; bravo's stays deleted
    is_problem(orgs.alpha.api.post(f"/api/v1/gadget/{record_id}/restore", user="admin"), 404, "not-found")
    with pytest.raises(RecordNotFound):
        orgs.bravo.records.get("gadget", record_id)


def test_history_of_an_id_both_have_is_the_callers_own(orgs):
    name = next(n for n in orgs.objects if n in orgs.alpha.marked)
    record_id = min(orgs.alpha.marked[name][1])
    entries = orgs.alpha.api.get(f"/api/v1/{name}/{record_id}/history", user="admin").get_json()["data"]
    text = repr(entries)
    assert ALPHA_WORD in text and BRAVO_WORD not in text


# ------------------------------------------------------------------------------ lists, search, counts

@pytest.mark.parametrize("object_name", [*OBJECTS, "gadget"])
def test_lists_counts_and_search_hold_only_the_callers_records(orgs, object_name):
    alpha = orgs.alpha
    live = alpha.live_ids(object_name, include_deleted=False)
    page = alpha.api.get(f"/api/v1/{object_name}", user="admin", query_string={"fields": "id", "limit": 1000})
    assert page.status_code == 200, page.get_json()
    listed = {row["id"] for row in page.get_json()["data"]}
    assert listed == live and page.get_json()["count"]["value"] == len(live)

    only_bravo = ",".join(str(i) for i in sorted(orgs.only_bravo(object_name)))
    none = alpha.api.get(f"/api/v1/{object_name}", user="admin", query_string={"id__in": only_bravo, "limit": 1})
    assert none.get_json()["data"] == [] and none.get_json()["count"]["value"] == 0

    if object_name in alpha.marked:  # search: alpha's word finds alpha's records, bravo's finds nothing
        found = alpha.api.get(f"/api/v1/{object_name}", user="admin", query_string={"q": ALPHA_WORD, "fields": "id",
                                                                                    "limit": 1000}).get_json()
        assert {row["id"] for row in found["data"]} == alpha.marked[object_name][1]
        nothing = alpha.api.get(f"/api/v1/{object_name}", user="admin", query_string={"q": BRAVO_WORD}).get_json()
        assert nothing["data"] == [] and nothing["count"]["value"] == 0


def test_search_reaches_some_objects_of_each_org(orgs):
    """The search checks above are not empty: most objects have a marked search field."""
    assert len(orgs.alpha.marked) >= 10 and set(orgs.bravo.marked) == set(orgs.alpha.marked)


def test_children_and_rollups_of_a_parent_id_both_have_are_the_callers_own(orgs):
    alpha, bravo = orgs.alpha, orgs.bravo
    quote = alpha.api.get(f"/api/v1/quote/{orgs.quote}", user="admin", query_string={"expand": "lines"}).get_json()
    lines = {line["id"] for line in quote["lines"]}
    assert lines and not lines & orgs.bravo_lines
    assert lines == {row["id"] for row in alpha.records.query("quote_line", filter={"quote": orgs.quote},
                                                              fields=["id"]).rows}
    theirs = bravo.api.get(f"/api/v1/quote/{orgs.quote}", user="admin", query_string={"expand": "lines"}).get_json()
    assert orgs.bravo_lines <= {line["id"] for line in theirs["lines"]}
    assert quote["line_count"] == len(lines) and theirs["line_count"] == len(theirs["lines"]) > len(lines)


# ------------------------------------------------------------------------------ lookups

def _lookups(orgs: TwoOrgs, name: str) -> list[Any]:
    registry = orgs.alpha.records.registry
    return [f for f in registry.object(name).fields.values()
            if f.target in registry.objects and not f.system and not f.computed and not f.read_only]


@pytest.mark.parametrize("object_name", WITH_LOOKUPS)
def test_a_lookup_to_a_record_only_the_other_org_has_is_refused(orgs, object_name):
    alpha = orgs.alpha
    lookups = _lookups(orgs, object_name)
    body = alpha.bodies[object_name]
    record_id = alpha.world.first[object_name]
    for lookup in lookups:
        foreign = max(orgs.only_bravo(lookup.target))
        message = f"There is no {lookup.target} with id {foreign}."
        created = alpha.api.post(f"/api/v1/{object_name}", json_body({**body, lookup.name: foreign}), user="admin")
        assert is_problem(created, 422, "validation")["errors"].get(lookup.name) == [message], created.get_json()
        version = alpha.records.get(object_name, record_id)["version"]
        changed = alpha.api.patch(f"/api/v1/{object_name}/{record_id}", {lookup.name: foreign}, user="admin",
                                  headers={"If-Match": f'"{version}"'})
        assert is_problem(changed, 422, "validation")["errors"].get(lookup.name) == [message], changed.get_json()


def test_a_record_cannot_be_given_to_a_user_of_the_other_org(orgs):
    alpha, bravo = orgs.alpha, orgs.bravo
    stranger = bravo.api.users["rep"]
    refused = {"owner_id": [f"There is no user with id {stranger}."]}
    created = alpha.api.post("/api/v1/unit", {"name": "Crate", "code": "CRATE", "owner_id": stranger}, user="admin")
    assert is_problem(created, 422, "validation")["errors"] == refused
    created = alpha.api.post("/api/v1/unit", {"name": "Crate", "code": "CRATE", "owner_id": alpha.api.users["rep"]},
                             user="admin")
    assert created.status_code == 201 and created.get_json()["owner_id"] == alpha.api.users["rep"]
    changed = alpha.api.patch(f"/api/v1/unit/{created.get_json()['id']}", {"owner_id": stranger}, user="admin",
                              headers={"If-Match": created.headers["ETag"]})
    assert is_problem(changed, 422, "validation")["errors"] == refused


# ------------------------------------------------------------------------------ bulk and actions

def test_bulk_updates_of_ids_only_the_other_org_has_are_404_and_change_nothing_there(orgs):
    alpha, bravo = orgs.alpha, orgs.bravo
    ids = sorted(orgs.only_bravo("gadget"))
    before = {i: bravo.records.get("gadget", i) for i in ids}
    rows = [{"id": i, "version": before[i]["version"], "name": "taken over"} for i in ids]
    response = alpha.api.post("/api/v1/gadget/bulk", {"operation": "update", "records": rows, "all_or_none": False},
                              user="admin")
    assert response.status_code == 200, response.get_json()
    assert [r["status"] for r in response.get_json()["results"]] == [404] * len(ids)
    assert {i: bravo.records.get("gadget", i) for i in ids} == before


def test_bulk_updates_of_an_id_both_have_change_the_callers_record_only(orgs):
    alpha, bravo = orgs.alpha, orgs.bravo
    record_id = min(orgs.common("gadget"))
    theirs = bravo.records.get("gadget", record_id)
    mine = alpha.records.get("gadget", record_id)
    response = alpha.api.post("/api/v1/gadget/bulk", {"operation": "update", "records": [
        {"id": record_id, "version": mine["version"], "name": "renamed in alpha"}]}, user="admin")
    assert response.get_json()["results"][0]["status"] == 200, response.get_json()
    assert alpha.records.get("gadget", record_id)["name"] == "renamed in alpha"
    assert bravo.records.get("gadget", record_id) == theirs


def test_bulk_upsert_by_an_external_id_only_the_other_org_has_creates_in_the_callers_org(orgs):
    alpha, bravo = orgs.alpha, orgs.bravo
    foreign_id = max(orgs.only_bravo("unit"))
    theirs = bravo.records.get("unit", foreign_id)
    shared_id = min(orgs.common("unit"))
    shared_code = alpha.records.get("unit", shared_id)["code"]
    theirs_shared = bravo.records.get("unit", shared_id)
    assert bravo.records.get("unit", shared_id)["code"] == shared_code
    response = alpha.api.post("/api/v1/unit/bulk", {"operation": "upsert", "external_id": "code", "records": [
        {"code": theirs["code"], "name": "made in alpha"}, {"code": shared_code, "name": "alpha's own"}]},
        user="admin")
    assert response.status_code == 200, response.get_json()
    created, updated = response.get_json()["results"]
    assert created["status"] == 201 and created["id"] not in orgs.alpha.ids["unit"]
    assert updated["status"] == 200 and updated["id"] == shared_id
    assert bravo.records.get("unit", foreign_id) == theirs and bravo.records.get("unit", shared_id) == theirs_shared
    assert alpha.records.get("unit", shared_id)["name"] == "alpha's own"


def test_an_action_on_an_id_only_the_other_org_has_is_404_and_on_a_shared_id_acts_on_the_callers(orgs):
    alpha, bravo = orgs.alpha, orgs.bravo
    foreign = max(orgs.only_bravo("gadget"))
    before = bravo.records.get("gadget", foreign)
    is_problem(alpha.api.post(f"/api/v1/gadget/{foreign}/actions/escalate", {"reason": "mine now"}, user="admin"),
               404, "not-found")
    assert bravo.records.get("gadget", foreign) == before
    shared = max(orgs.common("gadget"))
    theirs = bravo.records.get("gadget", shared)
    done = alpha.api.post(f"/api/v1/gadget/{shared}/actions/escalate", {"reason": "urgent"}, user="admin")
    assert done.status_code == 200 and done.get_json()["priority"] == "high"
    assert alpha.records.get("gadget", shared)["priority"] == "high"
    assert bravo.records.get("gadget", shared) == theirs


# ------------------------------------------------------------------------------ which org a request is in

def test_no_header_or_query_parameter_switches_a_token_to_another_org(orgs):
    alpha, bravo = orgs.alpha, orgs.bravo
    record_id = min(orgs.common("unit"))
    for header in ("X-Tessera-Org", "X-Org", "Tessera-Org", "Org"):
        response = alpha.api.get(f"/api/v1/unit/{record_id}", user="admin", headers={header: bravo.api.org})
        assert response.get_json()["owner_id"] == alpha.world.owner, header
    is_problem(alpha.api.get(f"/api/v1/unit/{record_id}", user="admin", query_string={"org": bravo.api.org}),
               400, "bad-request")
    listed = alpha.api.get("/api/v1/unit", user="admin", query_string={"org": bravo.api.org})
    assert "org" in is_problem(listed, 400, "bad-request")["errors"]
    is_problem(alpha.api.get(f"/api/v1/{bravo.api.org}/unit/{record_id}", user="admin"), 404, "not-found")


def test_a_token_of_the_other_org_reads_its_own_org_only(orgs):
    alpha, bravo = orgs.alpha, orgs.bravo
    listed = bravo.api.get("/api/v1/gadget", user="admin", query_string={"fields": "id,name", "limit": 1000}).get_json()
    assert {row["id"] for row in listed["data"]} == bravo.ids["gadget"] - {orgs.deleted_in_bravo}
    assert all(BRAVO_WORD in row["name"] for row in listed["data"])
    for record_id in sorted(orgs.common("unit")):
        got = bravo.api.get(f"/api/v1/unit/{record_id}", user="admin").get_json()
        assert got["owner_id"] == bravo.world.owner != alpha.world.owner


def test_signing_in_names_the_org_and_a_user_of_one_org_cannot_sign_in_to_the_other(orgs):
    alpha, bravo = orgs.alpha, orgs.bravo
    client = alpha.api.client
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    refused = client.post("/login", data={"csrf_token": token, "org": bravo.api.org, "username": "ann",
                                          "password": PASSWORD})
    assert refused.status_code == 401  # ann is alpha's: bravo has no ann
    signed_in = client.post("/login", data={"csrf_token": token, "org": alpha.api.org, "username": "ann",
                                            "password": PASSWORD})
    assert signed_in.status_code == 303, signed_in.get_data(as_text=True)
    for record_id in sorted(orgs.common("unit")):
        assert client.get(f"/api/v1/unit/{record_id}").get_json()["owner_id"] == alpha.world.owner
    for record_id in sorted(orgs.only_bravo("unit")):
        is_problem(client.get(f"/api/v1/unit/{record_id}"), 404, "not-found")
