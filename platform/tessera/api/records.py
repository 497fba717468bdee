"""Records over HTTP: list, get, create, update, delete, restore, history and actions.

Each view is a thin translation: query string and body in, one call into a unit of work of the
caller's org (so permissions, validation, history and hooks all apply), JSON out. The record
service decides; errors it raises become problems in :mod:`.problems`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from flask import g, request, url_for

from tessera.metadata.filters import Condition, QueryError, parse_query_filters
from tessera.metadata.model import ObjectDef, RelationDef
from tessera.metadata.schema import suggest
from tessera.metadata.scope import RegistryScope
from tessera.storage.query import MAX_LIMIT, Count

from .context import Caller, caller, flag, names, refuse_unknown_parameters, whole_number
from .messages import say
from .problems import ApiProblem, etag
from .serialize import json_response, read_json

#: the list endpoint's own parameters; every other name is a filter (``status``, ``score__gte``,
#: ``account.region``) or the JSON ``filter``
LIST_PARAMETERS = frozenset({"sort", "fields", "expand", "q", "cursor", "limit", "offset", "count"})
DEFAULT_LIMIT = 50
#: the largest count the list endpoint makes exactly; beyond it the count says "more than"
COUNT_CAP = 10_000
#: the largest record id (BIGINT); larger ids in a path are simply not found
MAX_ID = 2**63 - 1


def record_path(object_name: str, record_id: int) -> str:
    return url_for("api.get_record", object_name=object_name, record_id=record_id)


def bad_parameters(errors: dict[str, list[str]], locale: str) -> ApiProblem:
    return ApiProblem("bad-request", say("bad_parameters", locale, names=", ".join(sorted(errors))), errors=errors)


# ------------------------------------------------------------------------------ reading

def list_records(object_name: str) -> Any:
    who = caller()
    obj = who.object(object_name)
    who.access.require(obj.name, "read")
    errors: dict[str, list[str]] = {}
    limit = whole_number("limit", 1, MAX_LIMIT, errors, default=DEFAULT_LIMIT)
    offset = whole_number("offset", 0, None, errors)
    with_count = flag("count", errors, True)
    relations = expansions(who, obj, errors)
    scope = RegistryScope.of(who.registry, obj.name, who.access.hidden_by_object or None)
    try:
        filter_ = parse_query_filters(scope, request.args.items(multi=True), ignore=LIST_PARAMETERS)
    except QueryError as exc:
        for name, messages in exc.messages(who.locale).items():
            errors.setdefault(name, []).extend(messages)
        filter_ = None
    if errors:
        raise bad_parameters(errors, who.locale)
    search = (request.args.get("q") or "").strip() or None
    with who.service.unit_of_work(who.actor, read_only=True) as work:
        page = work.query(obj.name, filter=filter_, sort=names("sort"), fields=names("fields") or None,
                          search=search, limit=limit, cursor=request.args.get("cursor") or None, offset=offset)
        count = None
        if with_count and page.next_cursor is None and not offset and not request.args.get("cursor"):
            count = Count(len(page.rows))  # the whole result is on this page: nothing to count
        elif with_count:
            count = work.count(obj.name, filter=filter_, search=search, cap=COUNT_CAP)
        attach_children(work, relations, page.rows)
    body: dict[str, Any] = {"data": page.rows, "next_cursor": page.next_cursor, "count": None}
    if count is not None:
        body["count"] = {"value": count.value, "exact": count.exact, "estimated": count.estimated}
    return json_response(body)


def get_record(object_name: str, record_id: int) -> Any:
    who = caller()
    obj = who.object(object_name)
    refuse_unknown_parameters({"expand"}, who.locale)
    errors: dict[str, list[str]] = {}
    relations = expansions(who, obj, errors)
    if errors:
        raise bad_parameters(errors, who.locale)
    with who.service.unit_of_work(who.actor, read_only=True) as work:
        record = work.get(obj.name, record_id)
        attach_children(work, relations, [record])
    return json_response(record, headers={"ETag": etag(record["version"])})


def record_history(object_name: str, record_id: int) -> Any:
    who = caller()
    obj = who.object(object_name)
    refuse_unknown_parameters((), who.locale)
    with who.service.unit_of_work(who.actor, read_only=True) as work:
        entries = work.history(obj.name, record_id)
    return json_response({"data": [
        {"version": e["version"], "action": e["action"], "actor": e["actor"], "at": e["at"], "changes": e["changes"]}
        for e in entries]})


def expansions(who: Caller, obj: ObjectDef, errors: dict[str, list[str]]) -> list[RelationDef]:
    """The master-detail related lists named by ``expand``."""
    wanted = names("expand")
    if not wanted:
        return []
    available = {r.name: r for r in obj.relations if r.master_detail}
    found: list[RelationDef] = []
    for name in dict.fromkeys(wanted):
        relation = available.get(name)
        if relation is None:
            choices = ", ".join(sorted(available)) or "none"
            errors.setdefault("expand", []).append(
                f"'{name}' is not a master-detail related list of {obj.name}{suggest(name, available)}; "
                f"it has: {choices}")
        else:
            found.append(relation)
    return found


def attach_children(work: Any, relations: Sequence[RelationDef], rows: list[dict[str, Any]]) -> None:
    """Each row's children under their related name: one query per relation for all the rows
    (more only when they have over MAX_LIMIT children together), never one per row."""
    if not relations or not rows:
        return
    ids = [row["id"] for row in rows]
    for relation in relations:
        by_parent: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        cursor = None
        while True:
            page = work.query(relation.object, filter=Condition((relation.field,), "in", ids), sort=("id",),
                              limit=MAX_LIMIT, cursor=cursor)
            for child in page.rows:
                by_parent[child.get(relation.field)].append(child)
            cursor = page.next_cursor
            if cursor is None:
                break
        for row in rows:
            row[relation.name] = by_parent.get(row["id"], [])


# ------------------------------------------------------------------------------ writing

def create_record(object_name: str) -> Any:
    who = caller()
    obj = who.object(object_name)
    refuse_unknown_parameters((), who.locale)
    data = read_json(who.locale)
    with who.service.unit_of_work(who.actor, late_lock=True) as work:
        record = work.create(obj.name, data)
    return json_response(record, 201, {"Location": record_path(obj.name, record["id"]),
                                       "ETag": etag(record["version"])})


def update_record(object_name: str, record_id: int) -> Any:
    who = caller()
    obj = who.object(object_name)
    refuse_unknown_parameters((), who.locale)
    version = if_match(who.locale, required=True)
    data = read_json(who.locale)
    with who.service.unit_of_work(who.actor, late_lock=True) as work:
        record = work.update(obj.name, record_id, data, version=version)
    return json_response(record, headers={"ETag": etag(record["version"])})


def delete_record(object_name: str, record_id: int) -> Any:
    who = caller()
    obj = who.object(object_name)
    refuse_unknown_parameters((), who.locale)
    version = if_match(who.locale, required=False)
    with who.service.unit_of_work(who.actor) as work:
        work.delete(obj.name, record_id, version=version)
    return "", 204


def restore_record(object_name: str, record_id: int) -> Any:
    who = caller()
    obj = who.object(object_name)
    refuse_unknown_parameters((), who.locale)
    with who.service.unit_of_work(who.actor) as work:
        record = work.restore(obj.name, record_id)
    return json_response(record, headers={"ETag": etag(record["version"])})


def run_action(object_name: str, record_id: int, action: str) -> Any:
    who = caller()
    obj = who.object(object_name)
    refuse_unknown_parameters((), who.locale)
    data = read_json(who.locale, optional=True)
    with who.service.unit_of_work(who.actor) as work:
        result = work.run_action(obj.name, record_id, action, data)
    return json_response(result)


def if_match(locale: str, *, required: bool) -> int | None:
    """The record version named by If-Match (``"3"``; a weak ``W/"3"`` is read the same).
    Missing: 428 when ``required``. A stale version then fails with 412, not 409."""
    header = request.headers.get("If-Match")
    if header is None or not header.strip():
        if required:
            raise ApiProblem("precondition-required", say("if_match_required", locale))
        return None
    text = header.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    if not text.isdigit() or len(text) > 18:
        raise ApiProblem("precondition-required" if text == "*" else "bad-request", say("if_match_invalid", locale),
                         errors={"If-Match": [say("if_match_invalid", locale)]})
    g.api_precondition = True
    return int(text)
