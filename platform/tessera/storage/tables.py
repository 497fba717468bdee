"""The registry as SQLAlchemy tables: one table per object, plus Tessera's system tables.

Each object's table is named after the object and holds the system columns, one column per
stored field (formulas computed when read have none), a foreign key per lookup honouring its
``on_delete``, and indexes for lookups, unique and indexed fields and declared composites.
Uniqueness is a unique *index* rather than a constraint, so adding or removing it never needs
a table rebuild on SQLite. Built once per registry and database; never changed afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa

from tessera.metadata.model import FieldDef, ObjectDef
from tessera.metadata.naming import constraint_name
from tessera.metadata.registry import Registry

from .database import Database
from .types import JSONType, UTCDateTime

#: table names beginning with this belong to Tessera itself
SYSTEM_PREFIX = "tessera_"
#: columns every record table has beyond the system fields formulas can read
STORAGE_COLUMNS = ("deleted_at", "deleted_by")
#: prefix of a removed field's column, renamed aside so its data can come back
RETIRED_PREFIX = "retired__"

_ON_DELETE = {"set_null": "SET NULL", "restrict": "RESTRICT", "cascade": "CASCADE"}

ID_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite only autoincrements INTEGER


class StorageSchema:
    """All tables of one org's registry in one database."""

    def __init__(self, registry: Registry, db: Database) -> None:
        self.registry = registry
        self.db = db
        self.metadata = sa.MetaData(schema=db.schema)
        #: compiled query plans of this registry's tables (storage.query)
        self.query_plans: dict[str, Any] = {}
        self.history = _history_table(self.metadata)
        self.counters = _counters_table(self.metadata)
        self.deployments = _deployments_table(self.metadata)
        self.retired = _retired_table(self.metadata)
        self.shares = _shares_table(self.metadata)
        self.team_members = _team_table(self.metadata)
        self.approvals, self.approval_actions, self.approval_assignees = _approval_tables(self.metadata)
        self.jobs = _jobs_table(self.metadata)
        self.notifications = _notifications_table(self.metadata)
        self.flow_waits = _flow_waits_table(self.metadata)
        self.overlay, self.overlay_changes = overlay_tables(self.metadata)
        tables = {name: self._object_table(obj) for name, obj in registry.objects.items()}
        self.tables: Mapping[str, sa.Table] = MappingProxyType(tables)

    @property
    def system_tables(self) -> tuple[sa.Table, ...]:
        return (self.history, self.counters, self.deployments, self.retired, self.shares, self.team_members,
                self.approvals, self.approval_actions, self.approval_assignees,
                self.jobs, self.notifications, self.flow_waits,
                self.overlay, self.overlay_changes)

    def table(self, object_name: str) -> sa.Table:
        return self.tables[object_name]

    def column_type(self, field: FieldDef) -> sa.types.TypeEngine | None:
        return self.registry.field_types[field.type].column_type(field, self.registry)

    def _object_table(self, obj: ObjectDef) -> sa.Table:
        columns: list[sa.Column] = [
            sa.Column("id", ID_TYPE, sa.Identity(), primary_key=True),  # BIGINT identity (PostgreSQL)
            sa.Column("created_at", UTCDateTime(), nullable=False),
            sa.Column("created_by", sa.BigInteger(), nullable=True),
            sa.Column("updated_at", UTCDateTime(), nullable=False),
            sa.Column("updated_by", sa.BigInteger(), nullable=True),
            sa.Column("owner_id", sa.BigInteger(), nullable=True),
            sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1")),
            sa.Column("deleted_at", UTCDateTime(), nullable=True),
            sa.Column("deleted_by", sa.BigInteger(), nullable=True),
        ]
        indexes: list[sa.Index] = [
            sa.Index(constraint_name("ix", obj.name, ("owner_id",)), "owner_id"),
            # the default sort (newest first, id as tie-breaker) pages through this index
            sa.Index(constraint_name("ix", obj.name, ("created_at", "id")), "created_at", "id"),
        ]
        for field in obj.fields.values():
            if field.system:
                continue
            column_type = self.column_type(field)
            if column_type is None:
                continue
            args: list[sa.SchemaItem] = []
            if field.target is not None:
                target = f"{self.metadata.schema}.{field.target}.id" if self.metadata.schema else f"{field.target}.id"
                args.append(sa.ForeignKey(target, ondelete=_ON_DELETE[field.on_delete or "set_null"],
                                          name=constraint_name("fk", obj.name, (field.name,))))
            columns.append(sa.Column(field.name, column_type, *args, nullable=True))
            if field.unique:
                indexes.append(sa.Index(constraint_name("uq", obj.name, (field.name,)), field.name, unique=True))
            elif field.target is not None or field.indexed:
                indexes.append(sa.Index(constraint_name("ix", obj.name, (field.name,)), field.name))
        for index in obj.indexes:
            indexes.append(sa.Index(index.name, *index.fields, unique=index.unique))
        return sa.Table(obj.name, self.metadata, *columns, *_dedupe(indexes))


def _dedupe(indexes: list[sa.Index]) -> list[sa.Index]:
    seen: dict[tuple[tuple[str, ...], bool], sa.Index] = {}
    for index in indexes:
        key = (tuple(str(e) for e in index.expressions), bool(index.unique))
        seen.setdefault(key, index)
    return list(seen.values())


def _history_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        f"{SYSTEM_PREFIX}history", metadata,
        sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
        sa.Column("object", sa.String(63), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),  # create, update, delete, restore
        sa.Column("actor", sa.BigInteger(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("changes", JSONType, nullable=False),  # {field: [old, new]}
        sa.Index(f"ix_{SYSTEM_PREFIX}history_record", "object", "record_id", "version"),
    )


def _counters_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        f"{SYSTEM_PREFIX}counters", metadata,
        sa.Column("object", sa.String(63), primary_key=True),
        sa.Column("field", sa.String(63), primary_key=True),
        sa.Column("period", sa.String(16), primary_key=True),  # '' or e.g. '2026', '202611'
        sa.Column("value", sa.BigInteger(), nullable=False),
    )


def _deployments_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        f"{SYSTEM_PREFIX}deployments", metadata,
        sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(120), nullable=True),
        sa.Column("packages", JSONType, nullable=False),  # [{"name": ..., "version": ...}]
        sa.Column("steps", JSONType, nullable=False),     # the plan that was applied, in words
        sa.Column("snapshot", JSONType, nullable=True),   # what was deployed, to compare the next plan with
    )


def index_where_set(name: str, column: str, *columns: str) -> sa.Index:
    """A partial index over the rows whose ``column`` is not NULL (the same on SQLite and
    PostgreSQL); ``info["where_set"]`` names the column so the sync can compare it."""
    where = sa.text(f"{column} IS NOT NULL")
    return sa.Index(name, *columns, sqlite_where=where, postgresql_where=where, info={"where_set": column})


def index_where(index: sa.Index) -> str | None:
    """The column a partial index requires to be set (see :func:`index_where_set`), or None."""
    return index.info.get("where_set")


def _shares_table(metadata: sa.MetaData) -> sa.Table:
    """One record shared by hand with a user or a role."""
    return sa.Table(
        f"{SYSTEM_PREFIX}shares", metadata,
        sa.Column("id", ID_TYPE, sa.Identity(), primary_key=True),
        sa.Column("object", sa.String(63), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("role", sa.String(63), nullable=True),
        sa.Column("access", sa.String(8), nullable=False),  # read, edit
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Index(f"ix_{SYSTEM_PREFIX}shares_record", "object", "record_id"),
        # a share names a user or a role, so each index holds only the rows that set its column:
        # otherwise every role share sits under one NULL user (and the reverse), and the planner,
        # seeing one value for thousands of rows, scans the table instead
        index_where_set(f"ix_{SYSTEM_PREFIX}shares_user", "user_id", "object", "user_id", "record_id"),
        index_where_set(f"ix_{SYSTEM_PREFIX}shares_role", "role", "object", "role", "record_id"),
    )


def _team_table(metadata: sa.MetaData) -> sa.Table:
    """The team working a record (an account's or an opportunity's): who, and with what access."""
    return sa.Table(
        f"{SYSTEM_PREFIX}team_members", metadata,
        sa.Column("id", ID_TYPE, sa.Identity(), primary_key=True),
        sa.Column("object", sa.String(63), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("team_role", sa.String(63), nullable=True),
        sa.Column("access", sa.String(8), nullable=False),  # read, edit
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Index(f"uq_{SYSTEM_PREFIX}team_members", "object", "record_id", "user_id", unique=True),
        sa.Index(f"ix_{SYSTEM_PREFIX}team_members_user", "object", "user_id", "record_id"),
    )


def _jobs_table(metadata: sa.MetaData) -> sa.Table:
    """The org's background jobs (:mod:`tessera.jobs`), one row per job and idempotency key.

    A job's effect and its ``done`` commit in one transaction, so a job delivered twice (a
    worker killed before it acknowledged) takes effect once; status, attempts and the last
    error are what /admin/jobs shows. ``run_after`` is when the job is next due: a retry's
    back-off, or when a queued or running job counts as abandoned and is dispatched again."""
    return sa.Table(
        f"{SYSTEM_PREFIX}jobs", metadata,
        sa.Column("id", ID_TYPE, sa.Identity(), primary_key=True),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("payload", JSONType, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),  # queued, running, retrying, done, failed
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),  # a message for people, never a traceback
        sa.Column("result", JSONType, nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("run_after", UTCDateTime(), nullable=True),
        sa.Index(f"uq_{SYSTEM_PREFIX}jobs_key", "key", unique=True),
        sa.Index(f"ix_{SYSTEM_PREFIX}jobs_due", "status", "run_after"),  # the sweep for due jobs
        sa.Index(f"ix_{SYSTEM_PREFIX}jobs_status", "status", "id"),  # /admin/jobs?status=, newest first
    )


def _approval_tables(metadata: sa.MetaData) -> tuple[sa.Table, sa.Table, sa.Table]:
    """Approval requests (flows/approvals.py): one row per request, what was done on it (with
    comments), and who decides its current step."""
    requests = sa.Table(
        f"{SYSTEM_PREFIX}approvals", metadata,
        sa.Column("id", ID_TYPE, sa.Identity(), primary_key=True),
        sa.Column("object", sa.String(63), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("process", sa.String(63), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),  # pending, approved, rejected, recalled
        sa.Column("step", sa.String(63), nullable=True),  # the step being decided while pending
        sa.Column("submitted_by", sa.BigInteger(), nullable=True),
        sa.Column("submitted_at", UTCDateTime(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Index(f"ix_{SYSTEM_PREFIX}approvals_record", "object", "record_id", "status"),
    )
    actions = sa.Table(
        f"{SYSTEM_PREFIX}approval_actions", metadata,
        sa.Column("id", ID_TYPE, sa.Identity(), primary_key=True),
        sa.Column("approval_id", sa.BigInteger(), nullable=False),
        sa.Column("step", sa.String(63), nullable=True),
        sa.Column("action", sa.String(12), nullable=False),  # submit, approve, reject, recall
        sa.Column("actor", sa.BigInteger(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Index(f"ix_{SYSTEM_PREFIX}approval_actions_request", "approval_id", "id"),
    )
    assignees = sa.Table(
        f"{SYSTEM_PREFIX}approval_assignees", metadata,
        sa.Column("id", ID_TYPE, sa.Identity(), primary_key=True),
        sa.Column("approval_id", sa.BigInteger(), nullable=False),
        sa.Column("step", sa.String(63), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Index(f"ix_{SYSTEM_PREFIX}approval_assignees_user", "user_id", "approval_id"),
        sa.Index(f"ix_{SYSTEM_PREFIX}approval_assignees_request", "approval_id", "step"),
    )
    return requests, actions, assignees


def _notifications_table(metadata: sa.MetaData) -> sa.Table:
    """In-app notifications (tessera.notifications): one row per recipient, written in the
    recipient's language when it was sent; ``read_at`` is set when they have seen it."""
    return sa.Table(
        f"{SYSTEM_PREFIX}notifications", metadata,
        sa.Column("id", ID_TYPE, sa.Identity(), primary_key=True),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("object", sa.String(63), nullable=True),
        sa.Column("record_id", sa.BigInteger(), nullable=True),
        sa.Column("source", sa.String(100), nullable=True),  # the flow (or plugin) that sent it
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("read_at", UTCDateTime(), nullable=True),
        sa.Index(f"ix_{SYSTEM_PREFIX}notifications_user", "user_id", "id"),
    )


def _flow_waits_table(metadata: sa.MetaData) -> sa.Table:
    """Flows waiting at a ``wait`` step (flows/waits.py): which record, until when or what, and
    what became of the wait."""
    return sa.Table(
        f"{SYSTEM_PREFIX}flow_waits", metadata,
        sa.Column("id", ID_TYPE, sa.Identity(), primary_key=True),
        sa.Column("flow", sa.String(100), nullable=False),
        sa.Column("step", sa.String(300), nullable=False),  # where the wait step sits: steps[2]
        sa.Column("object", sa.String(63), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),  # waiting, resumed, cancelled, failed
        sa.Column("resume_at", UTCDateTime(), nullable=True),  # the date to resume at, if any
        sa.Column("on_condition", sa.Boolean(), nullable=False),  # also resumes when a save makes it hold
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),  # why it was cancelled or failed
        sa.Index(f"ix_{SYSTEM_PREFIX}flow_waits_due", "status", "resume_at"),
        sa.Index(f"ix_{SYSTEM_PREFIX}flow_waits_record", "object", "record_id", "status"),
    )


def overlay_tables(metadata: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    """The org's metadata overlay (storage/overlay.py): one row per document, and the history
    of changes to it. Documents are JSON *text*, not jsonb: the order of keys means something
    (fields are shown in the order given) and decimals must stay exact. A document's
    ``version`` is the id of the change that last wrote it, so it never repeats, even when a
    document is removed and added again."""
    documents = sa.Table(
        f"{SYSTEM_PREFIX}overlay", metadata,
        sa.Column("kind", sa.String(16), primary_key=True),  # object, flow, report, dashboard, app, role
        sa.Column("name", sa.String(63), primary_key=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
    )
    changes = sa.Table(
        f"{SYSTEM_PREFIX}overlay_changes", metadata,
        sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(120), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        # {"object/lead": document or null}: what the change replaced and what it wrote
        sa.Column("documents_before", sa.Text(), nullable=False),
        sa.Column("documents_after", sa.Text(), nullable=False),
        sa.Column("reverts", sa.BigInteger(), nullable=True),  # the change this one undid
        sa.Column("reverted_by", sa.BigInteger(), nullable=True),
        sa.Column("deployment_id", sa.BigInteger(), nullable=True),  # tessera_deployments, when tables changed
    )
    return documents, changes


def _retired_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        f"{SYSTEM_PREFIX}retired_columns", metadata,
        sa.Column("object", sa.String(63), primary_key=True),
        sa.Column("field", sa.String(63), primary_key=True),
        sa.Column("column_name", sa.String(63), nullable=False),
        sa.Column("field_type", sa.String(63), nullable=False),
        sa.Column("retired_at", UTCDateTime(), nullable=False),
    )
