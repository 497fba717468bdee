"""The org overlay stored in the database (storage/overlay.py): plan without applying, apply in
one transaction, optimistic concurrency, history and revert, retiring instead of dropping —
on SQLite and, with TESSERA_TEST_DATABASE_URL, PostgreSQL."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from tessera.metadata.overlay import ORG_OVERLAY
from tessera.records.service import RecordService
from tessera.storage.overlay import (
    Conflict,
    DocumentChange,
    InvalidChange,
    MetadataChanges,
    OverlayError,
)
from tessera.storage.overlay_store import OverlayRows, revision
from tessera.storage.sync import SyncRefused, deploy, org_registry
from tests.helpers import LEAD, label

def ticket(**fields) -> DocumentChange:
    return DocumentChange.upsert("object", "ticket", {
        "label": label("Ticket"), "plural_label": label("Tickets"),
        "fields": {"name": {"type": "text", "label": label("Name")},
                   "lead": {"type": "lookup", "target": "lead", "label": label("Lead")}, **fields}})


def lead_with(**fields) -> DocumentChange:
    return DocumentChange.upsert("object", "lead", {"fields": fields})


@dataclass
class Org:
    settings: dict
    db: object

    def changes(self) -> MetadataChanges:
        return MetadataChanges(self.settings, "default", self.db)

    def records(self) -> RecordService:
        return RecordService(org_registry(self.settings, "default", self.db), self.db)

    def tables(self) -> set[str]:
        with self.db.engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names(schema=self.db.schema))

    def columns(self, table: str) -> set[str]:
        with self.db.engine.connect() as conn:
            return {c["name"] for c in sa.inspect(conn).get_columns(table, schema=self.db.schema)}

    def state(self) -> tuple:
        """Everything a failed change must leave as it was."""
        changes = self.changes()
        return (self.tables(), {t: self.columns(t) for t in self.tables() if not t.startswith("tessera_")},
                changes.documents(), changes.history(), revision(self.db))


@pytest.fixture
def org(database, tmp_path: Path, write_package) -> Org:
    write_package("shop", {"objects/lead.yaml": LEAD}, root=tmp_path / "packages")
    settings = {"PACKAGES": "shop", "METADATA_PATH": str(tmp_path / "packages"), "PLUGINS": "", "OVERLAY_DIR": ""}
    deploy(org_registry(settings, "default", database), database)
    return Org(settings, database)


def test_a_custom_object_added_through_the_api_gets_its_table_and_takes_records(org):
    changes = org.changes()
    result = changes.apply([ticket()], expected_versions={("object", "ticket"): 0}, actor="user:alice",
                           summary="add tickets")

    assert result.applied and result.versions == {("object", "ticket"): result.change_id}
    assert "ticket" in org.tables()
    assert {"name", "lead"} <= org.columns("ticket")
    records = org.records()
    assert ORG_OVERLAY in [p.name for p in records.registry.packages]
    lead = records.create("lead", {"name": "Ada"})
    created = records.create("ticket", {"name": "Printer jam", "lead": lead["id"]})
    assert records.get("ticket", created["id"])["name"] == "Printer jam"
    [stored] = changes.documents()
    assert (stored.kind, stored.name, stored.version) == ("object", "ticket", result.change_id)
    [entry] = changes.history()
    assert (entry.actor, entry.summary, entry.describe()) == ("user:alice", "add tickets", "add object ticket")
    assert entry.before == {("object", "ticket"): None} and entry.after[("object", "ticket")] == stored.data
    assert entry.deployment_id is not None


def test_plan_shows_the_schema_diff_and_applies_nothing(org):
    before = org.state()
    plan = org.changes().plan([ticket(), lead_with(score={"type": "integer", "label": label("Score")})])

    assert plan.valid and plan.describe() == ["add object lead", "add object ticket"]
    words = [step.words for step in plan.storage.steps]
    assert any(w.startswith("create table ticket") for w in words)
    assert "add column lead.score integer" in words
    assert "create table ticket" in plan.render()
    assert org.state() == before


def test_a_change_with_metadata_problems_names_the_document_and_the_path_and_changes_nothing(org):
    before = org.state()
    bad = lead_with(total={"type": "formula", "result": "text", "expression": "nmae & '!'", "label": label("T")})
    orphan = ticket(owner={"type": "lookup", "target": "nowhere", "label": label("Owner")})

    plan = org.changes().plan([bad, orphan])
    assert not plan.valid and plan.storage is None
    found = {(p.kind, p.name, p.where): p.message for p in plan.problems}
    assert "unknown field 'nmae'" in found[("object", "lead", "fields.total.expression")]
    assert "'nowhere' is not an object" in found[("object", "ticket", "fields.owner.target")]
    assert all(str(p.location).startswith("(overlay)/objects/") for p in plan.problems)

    with pytest.raises(InvalidChange) as raised:
        org.changes().apply([bad, orphan], expected_versions={"object/lead": 0, "object/ticket": 0},
                            actor="alice", summary="broken")
    assert len(raised.value.problems) == 2 and "nothing was changed" in str(raised.value)
    assert org.state() == before


def test_a_failure_inside_the_transaction_leaves_tables_overlay_and_history_untouched(org, monkeypatch):
    before = org.state()

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(OverlayRows, "record", explode)  # after the tables were created, before the rows
    with pytest.raises(RuntimeError, match="disk full"):
        org.changes().apply([ticket()], expected_versions={"object/ticket": 0}, actor="alice", summary="x")
    assert org.state() == before


def test_a_destructive_storage_change_is_refused_unless_allowed_and_refusal_changes_nothing(org):
    changes = org.changes()
    first = changes.apply([ticket(code={"type": "text", "max_length": 40, "label": label("Code")})],
                          expected_versions={"object/ticket": 0}, actor="alice", summary="add tickets")
    org.records().create("ticket", {"name": "A", "code": "A-LONG-CODE-123"})
    before = org.state()
    shorter = ticket(code={"type": "text", "max_length": 5, "label": label("Code")})

    with pytest.raises(SyncRefused) as refused:
        changes.apply([shorter], expected_versions={"object/ticket": first.change_id}, actor="alice", summary="x")
    assert refused.value.forceable and "ticket.code" in str(refused.value)
    assert org.state() == before

    changes.apply([shorter], expected_versions={"object/ticket": first.change_id}, actor="alice", summary="x",
                  allow_destructive=True)
    assert org.records().query("ticket").rows[0]["code"] == "A-LON"


def test_two_admins_editing_the_same_object_the_second_gets_a_conflict_naming_it(org):
    alice, bob = org.changes(), org.changes()
    first = alice.apply([ticket()], expected_versions={"object/ticket": 0}, actor="alice", summary="add")
    read_by_both = alice.document("object", "ticket").version
    assert bob.document("object", "ticket").version == read_by_both

    alice.apply([ticket(priority={"type": "integer", "label": label("Priority")})],
                expected_versions={("object", "ticket"): read_by_both}, actor="alice", summary="add priority")
    before = org.state()
    with pytest.raises(Conflict) as raised:
        bob.apply([ticket(due={"type": "date", "label": label("Due")})],
                  expected_versions={("object", "ticket"): read_by_both}, actor="bob", summary="add due date")
    [conflict] = raised.value.conflicts
    assert (conflict.kind, conflict.name, conflict.expected) == ("object", "ticket", first.change_id)
    assert "object 'ticket' was changed since it was read (change" in str(raised.value)
    assert "by alice: add priority" in str(raised.value)
    assert org.state() == before
    assert "priority" in org.columns("ticket") and "due" not in org.columns("ticket")


def test_two_admins_editing_different_objects_both_keep_their_changes(org):
    alice, bob = org.changes(), org.changes()
    assert alice.documents() == bob.documents() == []  # both read the same (empty) overlay

    alice.apply([ticket()], expected_versions={"object/ticket": 0}, actor="alice", summary="tickets")
    bob.apply([lead_with(score={"type": "integer", "label": label("Score")})],
              expected_versions={"object/lead": 0}, actor="bob", summary="score leads")

    assert {d.name for d in org.changes().documents()} == {"ticket", "lead"}
    assert "ticket" in org.tables() and "score" in org.columns("lead")
    assert [h.actor for h in org.changes().history()] == ["bob", "alice"]


def test_concurrent_applies_of_different_documents_are_both_kept(org):
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def admin(change: DocumentChange, who: str) -> None:
        changes = org.changes()
        barrier.wait()
        try:
            changes.apply([change], expected_versions={change.key: 0}, actor=who, summary=who)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=admin, args=(ticket(), "alice")),
               threading.Thread(target=admin, args=(lead_with(score={"type": "integer", "label": label("S")}), "bob"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert {d.name for d in org.changes().documents()} == {"ticket", "lead"}
    assert "ticket" in org.tables() and "score" in org.columns("lead")


def test_a_change_must_say_which_versions_it_read(org):
    with pytest.raises(OverlayError, match="say which version of object 'ticket' the change read"):
        org.changes().apply([ticket()], expected_versions={}, actor="alice", summary="x")
    with pytest.raises(OverlayError, match="'Ticket' is not a document name"):
        org.changes().plan([DocumentChange.upsert("object", "Ticket", {})])
    with pytest.raises(OverlayError, match="'widget' is not a kind of document"):
        org.changes().plan([DocumentChange.upsert("widget", "x", {})])
    with pytest.raises(OverlayError, match="names object 'ticket' twice"):
        org.changes().plan([ticket(), ticket()])


def test_revert_restores_the_documents_before_and_the_data_of_retired_fields(org):
    changes = org.changes()
    first = changes.apply([lead_with(score={"type": "integer", "label": label("Score")})],
                          expected_versions={"object/lead": 0}, actor="alice", summary="score leads")
    lead = org.records().create("lead", {"name": "Ada", "score": 7})

    undo = changes.revert(first.change_id, actor="bob")
    assert changes.documents() == []
    assert "score" not in org.columns("lead") and "retired__score" in org.columns("lead")  # kept aside
    assert org.records().get("lead", lead["id"]).get("score") is None
    history = changes.history()
    assert [h.id for h in history] == [undo.change_id, first.change_id]
    assert history[0].reverts == first.change_id and history[1].reverted_by == undo.change_id
    assert history[0].summary == f"revert change {first.change_id}: score leads"

    with pytest.raises(Conflict, match="already reverted"):
        changes.revert(first.change_id, actor="bob")
    changes.revert(undo.change_id, actor="alice")  # the revert of a revert brings the field back
    assert org.records().get("lead", lead["id"])["score"] == 7


def test_revert_is_refused_when_a_later_change_touched_the_same_document(org):
    changes = org.changes()
    first = changes.apply([ticket()], expected_versions={"object/ticket": 0}, actor="alice", summary="add")
    second = changes.apply([ticket(due={"type": "date", "label": label("Due")})],
                           expected_versions={"object/ticket": first.change_id}, actor="bob", summary="due dates")
    unrelated = changes.apply([lead_with(score={"type": "integer", "label": label("S")})],
                              expected_versions={"object/lead": 0}, actor="carol", summary="scores")
    before = org.state()

    with pytest.raises(Conflict) as raised:
        changes.revert(first.change_id, actor="alice")
    assert f"object 'ticket' was changed since change {first.change_id} (change {second.change_id} by bob" in \
        str(raised.value)
    assert f"revert change {second.change_id} first" in str(raised.value)
    assert org.state() == before
    changes.revert(second.change_id, actor="alice")
    changes.revert(first.change_id, actor="alice")
    assert [d.name for d in changes.documents()] == ["lead"]
    assert unrelated.change_id in {h.id for h in changes.history()}


def test_removing_a_custom_object_keeps_its_table_and_adding_it_back_restores_it(org):
    changes = org.changes()
    added = changes.apply([ticket()], expected_versions={"object/ticket": 0}, actor="alice", summary="add")
    created = org.records().create("ticket", {"name": "Keep me"})

    removed = changes.apply([DocumentChange.remove("object", "ticket")],
                            expected_versions={"object/ticket": added.change_id}, actor="alice", summary="drop")
    assert removed.versions == {("object", "ticket"): 0}
    assert "ticket" not in org.records().registry.objects
    assert "ticket" in org.tables()  # kept with its data, never dropped
    assert any("table ticket is kept" in step for step in removed.storage.steps)

    changes.apply([ticket()], expected_versions={"object/ticket": 0}, actor="alice", summary="back")
    assert org.records().get("ticket", created["id"])["name"] == "Keep me"


def test_removing_an_object_others_still_point_at_is_a_problem_of_the_document_that_points(org):
    changes = org.changes()
    changes.apply([ticket()], expected_versions={"object/ticket": 0}, actor="alice", summary="add")
    added = changes.apply([lead_with(ticket={"type": "lookup", "target": "ticket", "label": label("T")})],
                          expected_versions={"object/lead": 0}, actor="alice", summary="link")
    plan = changes.plan([DocumentChange.remove("object", "ticket")])
    assert [(p.kind, p.name, p.where) for p in plan.problems] == [("object", "lead", "fields.ticket.target")]
    assert added.change_id == changes.document("object", "lead").version


def test_applying_what_is_stored_changes_nothing_and_records_nothing(org):
    changes = org.changes()
    first = changes.apply([ticket()], expected_versions={"object/ticket": 0}, actor="alice", summary="add")
    again = changes.apply([ticket()], expected_versions={"object/ticket": first.change_id}, actor="alice",
                          summary="same")
    assert not again.applied and again.change_id is None
    assert len(changes.history()) == 1
    assert changes.plan([ticket()]).render().endswith("nothing to change")


def test_documents_keep_exact_decimals_and_the_order_of_their_fields(org):
    changes = org.changes()
    doc = ticket(amount={"type": "decimal", "min": 0.10, "label": label("Amount")},
                 code={"type": "text", "label": label("Code")})
    changes.apply([doc], expected_versions={"object/ticket": 0}, actor="alice", summary="add")
    stored = changes.document("object", "ticket").data
    assert list(stored["fields"]) == ["name", "lead", "amount", "code"]
    assert str(stored["fields"]["amount"]["min"]) == "0.1"
    assert list(org.records().registry.object("ticket").fields)[-4:] == ["name", "lead", "amount", "code"]
