"""The query side of the record service: one filter syntax compiled to SQLAlchemy Core.

API lists, list views, reports and flows all read records through :func:`run_query` and
:func:`count`; a :class:`QuerySpec` says which object, filter, sort, fields, search and page::

    page = run_query(conn, schema, QuerySpec(
        object="opportunity", filter=view.filter, sort=("-amount", "account.name"),
        fields=("name", "amount", "account.name", "account.parent.name"), search="acme",
        limit=50, cursor=request_cursor), QueryParams(user_id=user.id))
    page.rows         # [{"id": 7, "name": ..., "amount": Decimal(...), "account.name": ...}]
    page.next_cursor  # opaque text, or None on the last page

One statement per page. Every dot path (in fields, filter and sort alike) joins its lookups
once: one LEFT OUTER JOIN per distinct lookup path, shared by everything that goes through it.
Filter values are converted in Python and bound as parameters; no SQL is built from text.
Problems raise :class:`~tessera.metadata.filters.QueryError`, naming every bad parameter
(a filter key, ``sort``, ``fields``, ``search``, ``cursor``, ``limit``, ``offset``) at once.

Decisions
---------
* **Blank values.** ``ne`` and ``not_in`` match blank (NULL) values too: "stage is not won"
  includes records with no stage, as people mean it, where plain SQL ``<>`` would drop them.
  ``not: {...}`` groups follow the same rule (NOT treats an unknown as false). ``eq``, ``in``,
  ``lt``..``gte``, ``between`` and the text operators never match blanks. ``is_blank: true``
  matches NULL and, for text, ''; for a multi-select picklist also an empty list. A checkbox
  that is unset counts as unchecked: ``flag: false`` matches NULL too.
* **Text.** ``contains`` and ``starts_with`` are case-sensitive, and wildcard characters in
  the value are literal (escaped LIKE on PostgreSQL; ``instr``/``substr`` on SQLite, whose LIKE
  ignores ASCII case). ``icontains`` and search ignore case with ILIKE on PostgreSQL (any
  script) and ``lower() LIKE lower()`` on SQLite, whose ``lower()`` folds ASCII only: on SQLite
  'Ä' and 'ä' differ. Chinese and other scripts without case match as written on both.
* **Search** splits the term on whitespace; every word must appear in one of the object's
  ``search_fields`` (its name field when it declares none).
* **Numbers** compare exactly at the column's scale: ``amount__gte: 100.50`` binds the scaled
  integer on SQLite and NUMERIC on PostgreSQL; a value with more decimals than the column
  keeps moves to the right side (``amount > 100.505`` is ``amount >= 100.51``).
* **Dates.** ``$today±N`` and ISO text are converted in Python from :class:`QueryParams`, never
  by database functions. Against a date-time field a date means the whole day in
  ``QueryParams.timezone``: ``created_at: $today`` is today from midnight to midnight,
  ``created_at__lte: 2026-01-31`` includes all of the 31st, ``between`` covers both end days.
* **Multi-select picklists**: ``includes``/``excludes`` one option (jsonb ``@>`` on
  PostgreSQL, ``EXISTS`` over ``json_each`` on SQLite); ``eq``/``ne`` mean the same, and
  ``in``/``not_in`` mean "includes any" / "includes none" of the listed options. JSON fields
  take ``is_blank`` only (the metadata validator refuses the rest too).
* **Sort.** The default is :data:`DEFAULT_SORT` (newest first). Blanks sort last in both
  directions on both databases. The record id is always the final tie-breaker (in the last
  key's direction), so the order is total and keyset pagination is exact.
* **Pages.** ``cursor`` (keyset) is the normal way and stays fast at any depth; ``offset`` is
  for small jumps. Both return ``next_cursor``. ``limit`` is 1..:data:`MAX_LIMIT`.
* **Fields.** ``fields=None`` selects every field with a column. Each row always carries
  ``id``. Formulas computed when read (``stored=False``) cannot be selected, filtered or sorted
  in SQL: filtering or sorting on one raises QueryError; selecting one is skipped and listed in
  ``Page.skipped`` for the record service to compute in Python.
* **Plans are reused.** Building a statement costs about as much as running a simple one, so
  the plan of a query is kept per org schema (up to :data:`PLAN_CACHE_SIZE`) under everything
  it depends on: the spec without its cursor (the keyset condition is added to the kept plan),
  the hidden fields, the params ``$me``, ``$today`` and the time zone, and the key of the
  reader's record-level :class:`Restriction` (what it is built from: the owners, roles and
  sharing rules). Queries that read ``$now``, and restrictions given as bare clauses, are
  planned every time.
* **Soft delete.** Rows with ``deleted_at`` set are left out unless ``include_deleted``.
  Lookup joins do not hide a soft-deleted parent: the row still points at it.
* **Counts** (:func:`count`) are exact up to ``cap`` and counted over a LIMITed subquery, so
  the database stops after ``cap + 1`` rows; beyond that the answer is "more than cap"
  (``Count(cap, exact=False)``). On PostgreSQL a count with no filter and no search first reads
  the planner's estimate (``pg_class.reltuples``, kept by ANALYZE/autovacuum); when it is above
  the cap that estimate is returned (``Count(n, exact=False, estimated=True)``) without
  scanning — it may be stale and includes soft-deleted rows, so show it as "about n".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tessera.i18n import said
from tessera.metadata.filters import Filter, QueryError, whole_number_between, whole_number_from

from .query_cursor import SortKey, decode_cursor, encode_cursor, keyset_after, sort_keys
from .query_filter import NoColumn, ObjectQuery, QueryParams
from .tables import StorageSchema

#: the order when a query names none: newest first (the id breaks ties)
DEFAULT_SORT: tuple[str, ...] = ("-created_at",)
#: the largest page one query returns
MAX_LIMIT = 1000
#: the default cap of :func:`count`
COUNT_CAP = 10_000
#: compiled plans kept per org schema (the cache starts again when it is full)
PLAN_CACHE_SIZE = 512


@dataclass(frozen=True)
class QuerySpec:
    """What to read. ``sort`` and ``fields`` take dot paths (``account.name``) as a sequence or
    one comma-separated string; ``sort`` items start with '-' for descending."""

    object: str
    filter: Filter | None = None
    sort: Sequence[str] | str = ()
    fields: Sequence[str] | str | None = None
    search: str | None = None
    limit: int = 50
    cursor: str | None = None
    offset: int | None = None
    include_deleted: bool = False
    #: fields the reader may not see, per object: they act as if they did not exist
    hidden: Mapping[str, frozenset[str]] | None = None
    #: an extra SQL condition on the object's table (the reader's record-level access): a
    #: clause, or a :class:`Restriction` whose plans may be kept
    restriction: Any = None


@dataclass(frozen=True)
class Restriction:
    """A condition on the object's table that names what it depends on: plans with it are
    kept under ``key`` (None: never kept), and ``build`` makes the clause when one is planned."""

    key: str | None
    build: Callable[[], sa.ColumnElement[bool]]


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    next_cursor: str | None
    #: requested fields computed when read (unstored formulas): the caller computes them
    skipped: tuple[str, ...] = ()


@dataclass(frozen=True)
class Count:
    """How many records match. ``exact`` False: ``value`` is the cap ("more than value"), or
    with ``estimated`` the planner's estimate ("about value")."""

    value: int
    exact: bool = True
    estimated: bool = False

    def __str__(self) -> str:
        if self.exact:
            return str(self.value)
        return f"~{self.value}" if self.estimated else f"{self.value}+"


@dataclass(frozen=True)
class QueryPlan:
    """A compiled query: the statement and how to read its rows back."""

    statement: sa.Select[Any]
    fields: tuple[str, ...]
    keys: tuple[SortKey, ...]
    limit: int
    skipped: tuple[str, ...] = field(default=())


def plan_query(schema: StorageSchema, spec: QuerySpec, params: QueryParams | None = None, *,
               dialect: str | None = None) -> QueryPlan:
    """Compile ``spec`` into one SELECT (raises QueryError listing every problem)."""
    params = (params or QueryParams()).resolved()
    dialect = dialect or schema.db.dialect
    key = _plan_key(spec, params, dialect)
    plan = schema.query_plans.get(key) if key is not None else None
    if plan is None:
        plan, reusable = _plan(schema, spec, params, dialect)
        if key is not None and reusable:
            if len(schema.query_plans) >= PLAN_CACHE_SIZE:
                schema.query_plans.clear()
            schema.query_plans[key] = plan
    if spec.cursor is not None:
        plan = replace(plan, statement=plan.statement.where(keyset_after(plan.keys, decode_cursor(list(plan.keys),
                                                                                                spec.cursor))))
    return plan


def _plan(schema: StorageSchema, spec: QuerySpec, params: QueryParams, dialect: str) -> tuple[QueryPlan, bool]:
    """The plan of ``spec`` without its cursor, and whether it may be reused for the same
    spec and params (not when it read ``$now``, which changes from one call to the next)."""
    query = ObjectQuery(schema, spec.object, params, dialect, spec.hidden)
    names, columns, skipped = _select(query, spec.fields)
    conditions = _conditions(query, spec)
    keys = sort_keys(query, _paths(spec.sort) or DEFAULT_SORT)
    limit = _check_page(query, spec)
    if query.errors:
        raise QueryError(query.errors)
    statement = (
        sa.select(*(c.label(f"f{i}") for i, c in enumerate(columns)),
                  *(k.column.label(f"s{i}") for i, k in enumerate(keys)))
        .select_from(query.from_clause)
        .where(*conditions)
        .order_by(*(k.order_by() for k in keys))
        .limit(limit + 1)
    )
    if spec.offset:
        statement = statement.offset(spec.offset)
    return QueryPlan(statement, tuple(names), tuple(keys), limit, tuple(skipped)), not query.read_now


def _plan_key(spec: QuerySpec, params: QueryParams, dialect: str) -> str | None:
    """What a plan depends on, as text; None when it must not be reused (a restriction given
    as a bare clause, or one that says it may not be kept)."""
    restriction = spec.restriction
    if restriction is not None and (not isinstance(restriction, Restriction) or restriction.key is None):
        return None
    hidden = sorted((name, sorted(fields)) for name, fields in (spec.hidden or {}).items())
    fields = None if spec.fields is None else _paths(spec.fields)
    return repr((spec.object, spec.filter, _paths(spec.sort), fields, spec.search, spec.limit, spec.offset,
                 spec.include_deleted, hidden, params.user_id, params.today, str(params.timezone), dialect,
                 restriction.key if restriction is not None else None))


def run_query(conn: Connection, schema: StorageSchema, spec: QuerySpec,
              params: QueryParams | None = None) -> Page:
    """One page of records matching ``spec``, in one SQL statement."""
    plan = plan_query(schema, spec, params, dialect=conn.dialect.name)
    result = conn.execute(plan.statement).all()
    width = len(plan.fields)
    rows = [dict(zip(plan.fields, row[:width], strict=True)) for row in result[: plan.limit]]
    next_cursor = None
    if len(result) > plan.limit:
        last = result[plan.limit - 1]
        next_cursor = encode_cursor(list(plan.keys), list(last[width:]))
    return Page(rows, next_cursor, plan.skipped)


def count(conn: Connection, schema: StorageSchema, spec: QuerySpec, *, cap: int = COUNT_CAP,
          params: QueryParams | None = None) -> Count:
    """How many records match ``spec`` (its filter, search and include_deleted; the page,
    sort and fields are ignored): exact up to ``cap``, see the module notes beyond it."""
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
        raise QueryError({"cap": f"expected a whole number of at least 1, got {cap!r}"})
    query = ObjectQuery(schema, spec.object, params or QueryParams(), conn.dialect.name, spec.hidden)
    conditions = _conditions(query, spec)
    if query.errors:
        raise QueryError(query.errors)
    if conn.dialect.name == "postgresql" and spec.filter is None and not (spec.search or "").strip():
        estimate = _planner_estimate(conn, query.table)
        if estimate is not None and estimate > cap:
            return Count(estimate, exact=False, estimated=True)
    capped = (sa.select(query.table.c.id).select_from(query.from_clause).where(*conditions)
              .limit(cap + 1).subquery())
    found = conn.execute(sa.select(sa.func.count()).select_from(capped)).scalar_one()
    return Count(cap, exact=False) if found > cap else Count(found)


# ------------------------------------------------------------------------------ helpers

def _paths(value: Sequence[str] | str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    return tuple(item.strip() for item in items if item.strip())


def _select(query: ObjectQuery, fields: Sequence[str] | str | None) -> tuple[list[str], list[Any], list[str]]:
    if fields is None:
        hidden = query.scope.hidden.get(query.object.name, frozenset())
        wanted = ["id", *(f.name for f in query.object.fields.values() if f.name != "id" and f.name not in hidden)]
    else:
        wanted = ["id", *_paths(fields)]
    names: list[str] = []
    columns: list[Any] = []
    skipped: list[str] = []
    problems: list[Any] = []
    for name in wanted:
        if name in names or name in skipped:
            continue
        try:
            column, _field = query.column(tuple(name.split(".")))
        except NoColumn:
            skipped.append(name)
            continue
        except LookupError as exc:
            problems.append(exc.args[0])
            continue
        names.append(name)
        columns.append(column)
    if problems:
        query.errors["fields"] = problems
    return names, columns, skipped


def _conditions(query: ObjectQuery, spec: QuerySpec) -> list[sa.ColumnElement[bool]]:
    conditions = query.base_conditions(spec.include_deleted)
    if spec.restriction is not None:
        restriction = spec.restriction
        conditions.append(restriction.build() if isinstance(restriction, Restriction) else restriction)
    if spec.filter is not None:
        conditions.append(query.where(spec.filter))
    if spec.search is not None:
        if not isinstance(spec.search, str):
            query.errors["search"] = said("expected text, got %(value)s", value=repr(spec.search))
        else:
            found = query.search(spec.search)
            if found is not None:
                conditions.append(found)
    return conditions


def _check_page(query: ObjectQuery, spec: QuerySpec) -> int:
    limit = spec.limit
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        query.errors["limit"] = whole_number_between(1, MAX_LIMIT, repr(limit))
        limit = 1
    if spec.offset is not None:
        if isinstance(spec.offset, bool) or not isinstance(spec.offset, int) or spec.offset < 0:
            query.errors["offset"] = whole_number_from(0, repr(spec.offset))
        elif spec.cursor is not None:
            query.errors["offset"] = said("give either a cursor or an offset, not both")
    return limit


def _planner_estimate(conn: Connection, table: sa.Table) -> int | None:
    """PostgreSQL's row estimate for ``table``; None when it was never analysed."""
    name = conn.dialect.identifier_preparer.format_table(table)
    estimate = conn.execute(
        sa.text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(CAST(:name AS text))"),
        {"name": name},
    ).scalar()
    if estimate is None or estimate < 0:
        return None
    return int(estimate)


__all__ = ["COUNT_CAP", "DEFAULT_SORT", "MAX_LIMIT", "Count", "Page", "QueryError", "QueryParams",
           "QueryPlan", "QuerySpec", "Restriction", "count", "plan_query", "run_query"]
