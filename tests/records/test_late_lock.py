"""Units of work that take SQLite's write lock late (``late_lock``, Database.begin_late): they
check a record without holding the lock, and what changed meanwhile is never lost."""

from __future__ import annotations

import fcntl
import multiprocessing
import threading

import pytest
import sqlalchemy as sa

from tessera.records.errors import StaleRecord
from tessera.records.service import RecordService
from tessera.storage.database import Database, take_write_turn
from tessera.storage.tables import StorageSchema


@pytest.fixture
def sqlite_service(crm_registry, tmp_path, clock):
    db = Database.connect(f"sqlite:///{tmp_path / 'org.db'}")
    schema = StorageSchema(crm_registry, db)
    schema.metadata.create_all(db.engine)
    yield RecordService(crm_registry, db, schema=schema, clock=clock)
    db.dispose()


def _lock_file_is_free(db: Database) -> bool:
    """Whether another process could take the writers' turn now (as another gunicorn worker)."""
    def try_lock(results):
        with open(db._writers.path, "a+b") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                results.put(True)
            except BlockingIOError:
                results.put(False)

    context = multiprocessing.get_context("fork")
    results = context.Queue()
    process = context.Process(target=try_lock, args=(results,))
    process.start()
    process.join(timeout=30)
    return results.get(timeout=30)


def _meanwhile(service: RecordService, event: str, write) -> None:
    """Run ``write`` in another thread, to its commit, the first time ``event`` fires."""
    done = []

    def listener(change):
        if not done:
            done.append(True)
            thread = threading.Thread(target=write)
            thread.start()
            thread.join(timeout=30)
            assert not thread.is_alive(), "the other writer waited for this unit of work's lock"

    service.events.listen(event, listener)


def test_a_late_lock_unit_of_work_holds_no_write_lock_until_it_writes(sqlite_service):
    record = sqlite_service.create("account", {"name": "Acme"})
    with sqlite_service.unit_of_work(late_lock=True) as work:
        work.get("account", record["id"])
        assert _lock_file_is_free(sqlite_service.db)
        work.update("account", record["id"], {"region": "West"}, version=record["version"])
        assert not _lock_file_is_free(sqlite_service.db)
    assert _lock_file_is_free(sqlite_service.db)
    assert sqlite_service.get("account", record["id"])["region"] == "West"


def test_other_writers_commit_while_a_late_lock_update_checks_its_record(sqlite_service):
    acme = sqlite_service.create("account", {"name": "Acme"})
    other = sqlite_service.create("account", {"name": "Globex"})
    _meanwhile(sqlite_service, "before_validate",
               lambda: sqlite_service.update("account", other["id"], {"region": "East"}, version=other["version"]))
    with sqlite_service.unit_of_work(late_lock=True) as work:
        work.update("account", acme["id"], {"region": "West"}, version=acme["version"])
    assert sqlite_service.get("account", other["id"])["region"] == "East"
    assert sqlite_service.get("account", acme["id"])["region"] == "West"


def test_a_late_lock_update_of_a_version_changed_meanwhile_is_stale(sqlite_service):
    record = sqlite_service.create("account", {"name": "Acme"})
    _meanwhile(sqlite_service, "before_validate", lambda: sqlite_service.update(
        "account", record["id"], {"credit_limit": 5}, version=record["version"]))
    with pytest.raises(StaleRecord) as refused:
        with sqlite_service.unit_of_work(late_lock=True) as work:
            work.update("account", record["id"], {"region": "West"}, version=record["version"])
    assert refused.value.changed_fields == ["credit_limit"]
    final = sqlite_service.get("account", record["id"])
    assert (final["version"], final["credit_limit"], final["region"]) == (2, 5, None)


def test_a_late_lock_write_for_the_latest_state_is_made_again_on_it(sqlite_service):
    record = sqlite_service.create("account", {"name": "Acme"})
    _meanwhile(sqlite_service, "before_validate", lambda: sqlite_service.update(
        "account", record["id"], {"credit_limit": 5}, version=record["version"]))
    with sqlite_service.unit_of_work(late_lock=True) as work:
        work.update("account", record["id"], {"region": "West"}, version=None)
    final = sqlite_service.get("account", record["id"])
    assert (final["version"], final["credit_limit"], final["region"]) == (3, 5, "West")
    history = sqlite_service.history("account", record["id"])
    assert [(h["version"], sorted(h["changes"])) for h in history[1:]] == [(2, ["credit_limit"]), (3, ["region"])]


def test_a_late_lock_insert_made_after_another_commit_is_kept(sqlite_service):
    """The first write ends a snapshot that another writer made stale: upgrading it in place
    would fail with 'database is locked'."""
    sqlite_service.create("account", {"name": "Acme"})
    with sqlite_service.unit_of_work(late_lock=True) as work:
        assert work.count("account").value == 1
        thread = threading.Thread(target=lambda: sqlite_service.create("account", {"name": "Globex"}))
        thread.start()
        thread.join(timeout=30)
        work.conn.execute(sa.insert(sqlite_service.schema.history).values(
            object="account", record_id=1, version=9, action="note", actor=None,
            at=sqlite_service.clock(), changes={}))
        assert work.count("account").value == 2  # the new snapshot sees the other commit
    assert sqlite_service.count("account").value == 2


def test_a_savepoint_in_a_late_lock_unit_of_work_is_taken_inside_the_write_lock(sqlite_service):
    with sqlite_service.unit_of_work(late_lock=True) as work:
        rows = work.create_many("account", [{"name": "Acme"}, {"name": ""}], all_or_none=False)
        assert not _lock_file_is_free(sqlite_service.db)
    assert [r.error is None for r in rows] == [True, False]
    assert sqlite_service.count("account").value == 1


def test_a_late_lock_unit_of_work_that_fails_releases_the_writers_turn(sqlite_service):
    with pytest.raises(RuntimeError):
        with sqlite_service.unit_of_work(late_lock=True) as work:
            work.create("account", {"name": "Acme"})
            raise RuntimeError("refused after writing")
    assert _lock_file_is_free(sqlite_service.db)
    assert sqlite_service.count("account").value == 0


def test_a_late_turn_keeps_what_was_read_when_nobody_wrote_meanwhile(sqlite_service, service):
    accounts = sqlite_service.schema.table("account")
    sqlite_service.create("account", {"name": "Acme"})
    with sqlite_service.db.begin_late() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(accounts)).scalar() == 1
        assert take_write_turn(conn) is False  # upgraded in place: the snapshot still stands
        assert not _lock_file_is_free(sqlite_service.db)
        assert take_write_turn(conn) is False  # held already
    with sqlite_service.db.begin() as conn:  # held from the start
        assert take_write_turn(conn) is False
    with service.db.begin_late() as conn:  # PostgreSQL: an ordinary transaction
        assert take_write_turn(conn) is False


def test_a_late_turn_starts_again_when_another_writer_committed(sqlite_service):
    accounts = sqlite_service.schema.table("account")
    with sqlite_service.db.begin_late() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(accounts)).scalar() == 0
        thread = threading.Thread(target=lambda: sqlite_service.create("account", {"name": "Globex"}))
        thread.start()
        thread.join(timeout=30)
        assert take_write_turn(conn) is True
        assert conn.execute(sa.select(sa.func.count()).select_from(accounts)).scalar() == 1
