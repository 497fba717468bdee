"""Prepared statements: compiled once, run straight on SQLite's driver, and indistinguishable
from ``Connection.execute`` in what they read, write and raise."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tessera.storage.database import Database, take_write_turn
from tessera.storage.prepared import Prepared
from tessera.storage.types import JSONType, ExactDecimal, UTCDateTime

COLUMNS = ("name", "amount", "due", "at", "active", "tags", "count")


@pytest.fixture
def things(database):
    metadata = sa.MetaData(schema=database.schema)
    table = sa.Table(
        "thing", metadata,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.Identity(), primary_key=True),
        sa.Column("name", sa.String(40), unique=True),
        sa.Column("amount", ExactDecimal(18, 2)),
        sa.Column("due", sa.Date()),
        sa.Column("at", UTCDateTime()),
        sa.Column("active", sa.Boolean()),
        sa.Column("tags", JSONType),
        sa.Column("count", sa.Integer(), nullable=False, server_default=sa.text("1")),
    )
    metadata.create_all(database.engine)
    return database, table


def _values(name: str, **changes):
    values = dict(name=name, amount=Decimal("1234.50"), due=dt.date(2026, 11, 24),
                  at=dt.datetime(2026, 11, 24, 9, 30, 15, 250000, tzinfo=dt.UTC), active=True,
                  tags=["vip", {"tier": 2}], count=1)
    values.update(changes)
    return values


def _insert(table):
    return Prepared(sa.insert(table).returning(*table.c), keys=COLUMNS)


def _by_id(table):
    return sa.select(*table.c).where(table.c.id == sa.bindparam("_id"))


def test_a_prepared_statement_reads_and_writes_every_type_as_sqlalchemy_does(things):
    db, table = things
    with db.begin() as conn:
        inserted = _insert(table).first(conn, _values("Acme"))
        blank = _insert(table).first(conn, _values("Blank", amount=None, due=None, at=None, active=None, tags=None))
    with db.read() as conn:
        for row in (inserted, blank):
            expected = dict(conn.execute(_by_id(table), {"_id": row["id"]}).mappings().one())
            assert Prepared(_by_id(table)).first(conn, {"_id": row["id"]}) == expected == row
    assert inserted["amount"] == Decimal("1234.50") and isinstance(inserted["amount"], Decimal)
    assert inserted["at"] == dt.datetime(2026, 11, 24, 9, 30, 15, 250000, tzinfo=dt.UTC)
    assert (inserted["due"], inserted["active"], inserted["tags"]) == (dt.date(2026, 11, 24), True, ["vip", {"tier": 2}])
    assert blank["tags"] is None and blank["active"] is None


def test_an_update_sets_its_literals_and_returns_what_it_set(things):
    db, table = things
    update = Prepared(
        sa.update(table).where(table.c.id == sa.bindparam("_id")).values(count=table.c.count + 1)
        .returning(table.c.name, table.c.count), keys=("name",))
    with db.begin() as conn:
        row = _insert(table).first(conn, _values("Acme"))
        assert update.first(conn, {"_id": row["id"], "name": "Acme Ltd"}) == {"name": "Acme Ltd", "count": 2}
        assert update.first(conn, {"_id": row["id"], "name": "Acme plc"}) == {"name": "Acme plc", "count": 3}
        assert update.first(conn, {"_id": row["id"] + 100, "name": "Nobody"}) is None


def test_a_prepared_statement_runs_in_the_connections_transaction(things):
    db, table = things
    with db.engine.connect() as conn:
        _insert(table).first(conn, _values("Acme"))  # no begin(): it begins one, as SQLAlchemy does
        assert conn.in_transaction()
        conn.rollback()
    with db.begin() as conn:
        _insert(table).first(conn, _values("Globex"))
        savepoint = conn.begin_nested()
        _insert(table).first(conn, _values("Initech"))
        savepoint.rollback()
    with db.read() as conn:
        assert conn.execute(sa.select(table.c.name)).scalars().all() == ["Globex"]


def test_a_unique_violation_is_sqlalchemys_integrity_error(things):
    db, table = things
    with db.begin() as conn:
        _insert(table).first(conn, _values("Acme"))
        savepoint = conn.begin_nested()
        with pytest.raises(sa.exc.IntegrityError) as refused:
            _insert(table).first(conn, _values("Acme"))
        savepoint.rollback()
    assert "INSERT INTO" in str(refused.value)


def test_a_value_left_out_is_left_out_of_the_statement_as_sqlalchemy_leaves_it(things):
    db, table = things
    with db.begin() as conn:
        given = {name: value for name, value in _values("Acme").items() if name not in ("due", "count")}
        row = _insert(table).first(conn, given)
    assert (row["name"], row["due"], row["count"]) == ("Acme", None, 1)  # count: the server's default


def test_a_value_beyond_the_prepared_columns_is_written_as_sqlalchemy_writes_it(things):
    db, table = things
    insert = Prepared(sa.insert(table).returning(*table.c), keys=("name", "amount"))
    with db.begin() as conn:
        row = insert.first(conn, {"name": "Acme", "amount": Decimal("5.00"), "count": 7})
        same = insert.first(conn, {"name": "Globex", "amount": Decimal("6.00")})
    assert (row["name"], row["amount"], row["count"]) == ("Acme", Decimal("5.00"), 7)
    assert (same["name"], same["amount"], same["count"]) == ("Globex", Decimal("6.00"), 1)


def test_listeners_of_the_engines_statements_see_prepared_ones(things):
    """Statement logging, counting and tracing see every statement: with a listener attached,
    prepared statements go through SQLAlchemy."""
    db, table = things
    seen: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    with db.begin() as conn:
        row = _insert(table).first(conn, _values("Acme"))
    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        with db.read() as conn:
            assert Prepared(_by_id(table)).first(conn, {"_id": row["id"]})["name"] == "Acme"
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)
    assert any(statement.startswith("SELECT") and "thing" in statement for statement in seen)


def test_an_expanding_list_goes_through_sqlalchemy(things):
    db, table = things
    query = Prepared(sa.select(table.c.name).where(table.c.name.in_(sa.bindparam("names", expanding=True))))
    with db.begin() as conn:
        _insert(table).first(conn, _values("Acme"))
        _insert(table).first(conn, _values("Globex"))
        assert query.first(conn, {"names": ["Globex", "Nobody"]}) == {"name": "Globex"}


def test_a_prepared_write_takes_the_late_write_turn_first(tmp_path):
    """Like any other write in a late-lock transaction: the turn is taken before it runs."""
    db = Database.connect(f"sqlite:///{tmp_path / 'org.db'}")
    metadata = sa.MetaData()
    table = sa.Table("tessera_note", metadata, sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("text", sa.String(20)))
    metadata.create_all(db.engine)
    insert = Prepared(sa.insert(table), keys=("text",))
    try:
        with db.begin_late() as conn:
            Prepared(sa.select(table.c.id).where(table.c.id == sa.bindparam("_id"))).first(conn, {"_id": 1})
            assert not conn.info["tessera_late_turn"].held  # a read does not take it
            insert.run(conn, {"text": "hello"})
            assert conn.info["tessera_late_turn"].held
            assert take_write_turn(conn) is False  # taken once
        with db.read() as conn:
            assert conn.execute(sa.select(table.c.text)).scalars().all() == ["hello"]
    finally:
        db.dispose()
