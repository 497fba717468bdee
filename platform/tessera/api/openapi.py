"""``GET /api/v1/openapi.json``: the OpenAPI 3.1 document of the caller's org, built with
apispec from the registry (the schemas come straight from FieldDefs, :mod:`.schemas`).

It describes what this caller gets: objects they may read, fields they may see, the fields
they may write, each object's actions with their input schemas, and the plugins' own routes
(``tessera_openapi`` fragments). It is built once per (registry, role, locale) and kept until
the registry is replaced.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from apispec import APISpec
from flask import current_app

import tessera
from tessera.metadata.model import ObjectDef
from tessera.metadata.schema import KINDS
from tessera.storage.query import MAX_LIMIT

from . import bulk
from .context import Caller, caller, refuse_unknown_parameters
from .problems import KINDS as PROBLEM_KINDS
from .problems import PROBLEM_BASE, PROBLEM_TYPE
from .records import COUNT_CAP, DEFAULT_LIMIT, LIST_PARAMETERS
from .schemas import input_schema, record_schema, ref, schema_name
from .serialize import json_response

PREFIX = "/api/v1"
_CACHE_KEY = "tessera.api.openapi"
_CACHE_SIZE = 64
_lock = threading.Lock()


def openapi_document() -> Any:
    who = caller()
    refuse_unknown_parameters((), who.locale)
    return json_response(document(who))


def document(who: Caller) -> dict[str, Any]:
    """The caller's document, from the cache when this registry, role and locale built one."""
    cache: dict[tuple[int, Any, str], tuple[Any, dict[str, Any]]] = current_app.extensions.setdefault(_CACHE_KEY, {})
    key = (id(who.registry), who.actor.role if not who.access.unrestricted else "*", who.locale)
    found = cache.get(key)
    if found is not None and found[0] is who.registry:
        return found[1]
    built = build(who)
    with _lock:
        if len(cache) >= _CACHE_SIZE:  # registries replaced over time: start again
            cache.clear()
        cache[key] = (who.registry, built)
    return built


def build(who: Caller) -> dict[str, Any]:
    spec = APISpec(
        title="Tessera API", version=tessera.__version__,
        openapi_version="3.1.0",
        info={"description": _DESCRIPTION},
        servers=[{"url": "/"}],
        security=[{"bearerToken": []}, {"sessionCookie": []}],
    )
    spec.components.security_scheme("bearerToken", {
        "type": "http", "scheme": "bearer",
        "description": "An API token (`tessera users token USERNAME`, or /account/tokens)."})
    spec.components.security_scheme("sessionCookie", {
        "type": "apiKey", "in": "cookie", "name": "tessera_session",
        "description": "The browser session of /login; writes also need the X-CSRFToken header."})
    _common_components(spec)
    objects = [obj for obj in sorted(who.registry.objects.values(), key=lambda o: o.name)
               if who.access.allows(obj.name, "read")]
    readable = {obj.name for obj in objects}
    for obj in objects:
        _object(spec, who, obj, readable)
    _meta_paths(spec)
    if who.access.unrestricted:  # the job log is for admins
        from tessera.jobs.views import openapi_paths

        openapi_paths(spec, PREFIX, _responses)
    _plugin_fragments(spec, who)
    return spec.to_dict()


# ------------------------------------------------------------------------------ shared parts

def _problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_TYPE: {"schema": ref("Problem")}}}


_RESPONSES = {
    "BadRequest": "Bad request syntax: a body that is not a JSON object, unknown query parameters, "
                  "a bad filter, sort, fields, cursor or limit (`errors` names each).",
    "Unauthorized": "No valid session or API token.",
    "Forbidden": "The caller's role does not allow this.",
    "NotFound": "No such object, record (or not one the caller can see), or action.",
    "Conflict": "A stale write (`changed_fields`, `current_version`) or a delete other records prevent "
                "(`blockers`).",
    "PreconditionFailed": "If-Match named a version that is no longer current (`changed_fields`).",
    "PreconditionRequired": "If-Match is missing.",
    "PayloadTooLarge": "The body is larger than the limit.",
    "ValidationFailed": "The record has problems; `errors` maps each field to its messages.",
    "ServerError": "Something failed on the server (a plugin, say); nothing was saved.",
}
_STANDARD = {"400": "BadRequest", "401": "Unauthorized", "403": "Forbidden", "500": "ServerError"}


def _responses(ok: Mapping[str, Any], *extra: str) -> dict[str, Any]:
    codes = dict(ok)
    for code, name in _STANDARD.items():
        codes[code] = {"$ref": f"#/components/responses/{name}"}
    names = {"404": "NotFound", "409": "Conflict", "412": "PreconditionFailed", "413": "PayloadTooLarge",
             "422": "ValidationFailed", "428": "PreconditionRequired"}
    for code in extra:
        codes[code] = {"$ref": f"#/components/responses/{names[code]}"}
    return codes


def _common_components(spec: APISpec) -> None:
    spec.components.schema("Problem", {
        "type": "object", "description": "RFC 9457 problem details.",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string", "format": "uri", "enum": [PROBLEM_BASE + kind for kind in PROBLEM_KINDS]},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string", "description": "For people, in the caller's locale."},
            "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
                       "description": "Per field (422) or per parameter or body member (400): its messages."},
            "changed_fields": {"type": "array", "items": {"type": "string"}},
            "current_version": {"type": "integer"},
            "blockers": {"type": "object", "additionalProperties": {"type": "integer"}},
            "results": {"type": "array", "items": ref("BulkResult")},
        },
    })
    spec.components.schema("Count", {
        "type": "object", "required": ["value", "exact"],
        "description": f"Exact up to {COUNT_CAP}; beyond it `exact` is false and `value` is {COUNT_CAP} "
                       "(more than) or, with `estimated`, the database's estimate (about).",
        "properties": {"value": {"type": "integer", "minimum": 0}, "exact": {"type": "boolean"},
                       "estimated": {"type": "boolean"}},
    })
    spec.components.schema("HistoryEntry", {
        "type": "object", "required": ["version", "action", "at", "changes"],
        "properties": {
            "version": {"type": "integer"}, "action": {"type": "string", "enum": ["create", "update", "delete", "restore"]},
            "actor": {"type": ["integer", "null"]}, "at": {"type": "string", "format": "date-time"},
            "changes": {"type": "object", "description": "field -> [old, new]",
                        "additionalProperties": {"type": "array", "minItems": 2, "maxItems": 2}},
        },
    })
    spec.components.schema("ApprovalRequest", {
        "type": "object",
        "required": ["id", "object", "record_id", "process", "status", "step", "submitted_at", "approvers", "history"],
        "properties": {
            "id": {"type": "integer"}, "object": {"type": "string"}, "record_id": {"type": "integer"},
            "process": {"type": "string"},
            "status": {"type": "string", "enum": ["pending", "approved", "rejected", "recalled"]},
            "step": {"type": ["string", "null"], "description": "The step being decided while pending."},
            "submitted_by": {"type": ["integer", "null"]}, "submitted_at": {"type": "string", "format": "date-time"},
            "decided_at": {"type": ["string", "null"], "format": "date-time"},
            "approvers": {"type": "array", "items": {"type": "integer"}, "description": "Who decides the current step."},
            "history": {"type": "array", "items": {
                "type": "object", "required": ["action", "at"],
                "properties": {"step": {"type": ["string", "null"]},
                               "action": {"type": "string", "enum": ["submit", "approve", "reject", "recall"]},
                               "actor": {"type": ["integer", "null"]}, "comment": {"type": ["string", "null"]},
                               "at": {"type": "string", "format": "date-time"}}}},
        },
    })
    spec.components.schema("BulkResult", {
        "type": "object", "required": ["index", "status", "id", "errors"],
        "properties": {
            "index": {"type": "integer", "minimum": 0},
            "status": {"type": "integer", "description": "201 created, 200 updated, 424 not saved because "
                                                         "another row failed (all_or_none), or the row's problem status"},
            "id": {"type": ["integer", "null"]}, "version": {"type": ["integer", "null"]},
            "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            "changed_fields": {"type": "array", "items": {"type": "string"}},
        },
    })
    for name, description in _RESPONSES.items():
        spec.components.response(name, _problem_response(description))
    spec.components.parameter("id", "path", {"name": "id", "required": True, "description": "The record id.",
                                             "schema": {"type": "integer", "minimum": 1}})
    spec.components.parameter("IfMatchRequired", "header", {
        "name": "If-Match", "required": True, "schema": {"type": "string", "pattern": r'^(W/)?"?[0-9]+"?$'},
        "description": 'The ETag (version) of the record as read, e.g. "3".'})
    spec.components.parameter("IfMatch", "header", {
        "name": "If-Match", "required": False, "schema": {"type": "string", "pattern": r'^(W/)?"?[0-9]+"?$'},
        "description": 'Only if the record is still at this version, e.g. "3".'})


def _list_parameters(obj: ObjectDef, children: Mapping[str, str]) -> list[dict[str, Any]]:
    params = [
        {"name": "filter", "in": "query", "schema": {"type": "string"},
         "description": 'A JSON filter for and/or/not groups: {"or": [{"status": "new"}, {"score__gte": 80}]}. '
                        "Other parameters named after fields filter too: status=new, score__gte=50, "
                        "account.region=East, stage__in=a,b."},
        {"name": "sort", "in": "query", "schema": {"type": "string"},
         "description": "Comma-separated field paths, '-' for descending (default -created_at)."},
        {"name": "fields", "in": "query", "schema": {"type": "string"},
         "description": "Comma-separated field paths, lookups followed with dots (account.name)."},
        {"name": "q", "in": "query", "schema": {"type": "string"},
         "description": f"Search in {', '.join(obj.search_fields or (obj.name_field,))}."},
        {"name": "cursor", "in": "query", "schema": {"type": "string"}, "description": "next_cursor of the page before."},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                                                    "default": DEFAULT_LIMIT}},
        {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0},
         "description": "For small jumps; a cursor stays fast at any depth."},
        {"name": "count", "in": "query", "schema": {"type": "boolean", "default": True}},
    ]
    if children:
        params.append({"name": "expand", "in": "query", "schema": {"type": "string", "enum": sorted(children)},
                       "description": "Master-detail related lists to include with each record."})
    assert {p["name"] for p in params} <= LIST_PARAMETERS | {"filter"}
    return params


# ------------------------------------------------------------------------------ per object

def _object(spec: APISpec, who: Caller, obj: ObjectDef, readable: set[str]) -> None:
    name = obj.name
    access = who.access
    hidden, read_only = access.hidden(name), access.read_only(name)
    children = {rel.name: rel.object for rel in obj.relations if rel.master_detail and rel.object in readable}
    spec.components.schema(schema_name(name), record_schema(obj, who.registry, hidden, read_only, children))
    spec.components.schema(schema_name(name, "page"), {
        "type": "object", "required": ["data", "next_cursor", "count"],
        "properties": {"data": {"type": "array", "items": ref(schema_name(name))},
                       "next_cursor": {"type": ["string", "null"]},
                       "count": {"anyOf": [ref("Count"), {"type": "null"}]}}})
    writable = access.allows(name, "create") or access.allows(name, "edit")
    if writable:
        spec.components.schema(schema_name(name, "input"),
                               input_schema(obj, who.registry, hidden, read_only, children, create=True))
        spec.components.schema(schema_name(name, "update"),
                               input_schema(obj, who.registry, hidden, read_only, children, create=False))
    label = obj.label(who.locale)
    tag = [name]
    spec.tag({"name": name, "description": f"{label} — {obj.description}" if obj.description else label})
    record = {"200": {"description": f"The {name}.", "headers": {"ETag": {"schema": {"type": "string"},
                                                                       "description": "The record's version."}},
                      "content": {"application/json": {"schema": ref(schema_name(name))}}}}
    base = f"{PREFIX}/{name}"
    operations: dict[str, Any] = {"get": {
        "tags": tag, "operationId": f"list_{name}", "summary": f"List {obj.plural_label(who.locale)}",
        "parameters": _list_parameters(obj, children),
        "responses": _responses({"200": {"description": "A page of records.",
                                         "content": {"application/json": {"schema": ref(schema_name(name, "page"))}}}})}}
    if access.allows(name, "create"):
        operations["post"] = {
            "tags": tag, "operationId": f"create_{name}", "summary": f"Create a {label}",
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref(schema_name(name, "input"))}}},
            "responses": _responses({"201": {**record["200"], "description": "Created.",
                                             "headers": {**record["200"]["headers"],
                                                         "Location": {"schema": {"type": "string"}}}}},
                                    "404", "413", "422")}
    spec.path(path=base, operations=operations)

    one: dict[str, Any] = {"parameters": ["id"]}
    one_ops: dict[str, Any] = {"get": {
        "tags": tag, "operationId": f"get_{name}", "summary": f"Get a {label}",
        "parameters": ([{"name": "expand", "in": "query", "schema": {"type": "string", "enum": sorted(children)}}]
                       if children else []),
        "responses": _responses(record, "404")}}
    if access.allows(name, "edit"):
        one_ops["patch"] = {
            "tags": tag, "operationId": f"update_{name}", "summary": f"Change a {label} (only the fields sent)",
            "parameters": ["IfMatchRequired"],
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref(schema_name(name, "update"))}}},
            "responses": _responses(record, "404", "409", "412", "413", "422", "428")}
    if access.allows(name, "delete"):
        one_ops["delete"] = {
            "tags": tag, "operationId": f"delete_{name}", "summary": f"Move a {label} to the recycle bin",
            "parameters": ["IfMatch"],
            "responses": _responses({"204": {"description": "Deleted."}}, "404", "409", "412", "422")}
    spec.path(path=f"{base}/{{id}}", operations=one_ops, parameters=one["parameters"])
    if access.allows(name, "delete"):
        spec.path(path=f"{base}/{{id}}/restore", parameters=one["parameters"], operations={"post": {
            "tags": tag, "operationId": f"restore_{name}", "summary": f"Bring a {label} back from the recycle bin",
            "responses": _responses(record, "404", "409", "422")}})
    spec.path(path=f"{base}/{{id}}/history", parameters=one["parameters"], operations={"get": {
        "tags": tag, "operationId": f"history_{name}", "summary": "Who changed what, when",
        "responses": _responses({"200": {"description": "One entry per version.", "content": {"application/json": {
            "schema": {"type": "object", "required": ["data"],
                       "properties": {"data": {"type": "array", "items": ref("HistoryEntry")}}}}}}}, "404")}})
    if writable:
        _bulk_path(spec, obj, tag, access)
    if name in who.service.flows.approvals.by_object:
        _approval_paths(spec, base, one["parameters"], tag, name)
    for action in who.service.actions.for_object(name):
        spec.path(path=f"{base}/{{id}}/actions/{action.name}", parameters=one["parameters"], operations={"post": {
            "tags": tag, "operationId": f"{action.name}_{name}",
            "summary": action.label.get(who.locale) or action.label["en"],
            "description": action.description or None,
            "requestBody": {"required": False, "content": {"application/json": {"schema": dict(action.input_schema)}}},
            "responses": _responses({"200": {"description": "The action's result.", "content": {
                "application/json": {"schema": {"type": "object"}}}}}, "404", "409", "413", "422")}})


def _approval_paths(spec: APISpec, base: str, parameters: Any, tag: list[str], name: str) -> None:
    request = {"description": "The approval request.", "content": {"application/json": {"schema": ref("ApprovalRequest")}}}

    def body(*members: str) -> dict[str, Any]:
        return {"required": False, "content": {"application/json": {"schema": {
            "type": "object", "additionalProperties": False,
            "properties": {m: {"type": ["string", "null"], "maxLength": 2000} for m in members}}}}}

    spec.path(path=f"{base}/{{id}}/approvals", parameters=parameters, operations={
        "get": {"tags": tag, "operationId": f"approvals_{name}", "summary": "The record's approval requests",
                "responses": _responses({"200": {"description": "Newest first, with their history.", "content": {
                    "application/json": {"schema": {"type": "object", "required": ["data"], "properties": {
                        "data": {"type": "array", "items": ref("ApprovalRequest")}}}}}}}, "404")},
        "post": {"tags": tag, "operationId": f"submit_{name}", "summary": "Submit the record for approval",
                 "requestBody": body("process", "comment"),
                 "responses": _responses({"201": request}, "404", "413", "422")}})
    spec.path(path=f"{base}/{{id}}/approvals/{{decision}}", operations={"post": {
        "tags": tag, "operationId": f"decide_{name}", "summary": "Approve, reject or recall the pending request",
        "parameters": [*parameters, {"name": "decision", "in": "path", "required": True,
                                     "schema": {"type": "string", "enum": ["approve", "reject", "recall"]}}],
        "requestBody": body("comment"),
        "responses": _responses({"200": request}, "404", "413", "422")}})


def _bulk_path(spec: APISpec, obj: ObjectDef, tag: list[str], access: Any) -> None:
    name = obj.name
    operations = [op for op in bulk.OPERATIONS if all(access.allows(name, p) for p in bulk.NEEDS[op])]
    unique = [f.name for f in obj.fields.values() if f.unique and f.stored and not f.system
              and f.name not in access.hidden(name)]
    request_schema: dict[str, Any] = {
        "type": "object", "required": ["operation", "records"], "additionalProperties": False,
        "properties": {
            "operation": {"type": "string", "enum": operations},
            "records": {"type": "array", "minItems": 1, "maxItems": bulk.MAX_ROWS, "items": {"type": "object"},
                        "description": f"{name} records as in create; update rows also carry id and version."},
            "all_or_none": {"type": "boolean", "default": True},
            "external_id": ({"type": "string", "enum": unique} if unique else {"type": "string"}),
        }}
    spec.path(path=f"{PREFIX}/{name}/bulk", operations={"post": {
        "tags": tag, "operationId": f"bulk_{name}", "summary": "Create, update or upsert up to "
                                                             f"{bulk.MAX_ROWS} records",
        "requestBody": {"required": True, "content": {"application/json": {"schema": request_schema}}},
        "responses": _responses({"200": {"description": "One result per row.", "content": {"application/json": {
            "schema": {"type": "object", "required": ["results"],
                       "properties": {"results": {"type": "array", "items": ref("BulkResult")}}}}}}},
            "404", "413", "422")}})


def _meta_paths(spec: APISpec) -> None:
    tag = ["meta"]
    spec.tag({"name": "meta", "description": "What the org holds and what the caller may do."})
    described = {"type": "object", "required": ["name", "label", "permissions"],
                 "properties": {"name": {"type": "string"}, "label": {"type": "string"},
                                "plural_label": {"type": "string"},
                                "permissions": {"type": "object", "additionalProperties": {"type": "boolean"}}}}
    spec.components.schema("ObjectSummary", described)
    spec.path(path=f"{PREFIX}/approvals/queue", operations={"get": {
        "tags": tag, "operationId": "approval_queue", "summary": "The approval requests the caller decides now",
        "responses": _responses({"200": {"description": "Oldest first.", "content": {"application/json": {"schema": {
            "type": "object", "required": ["data"], "properties": {"data": {"type": "array", "items": {
                "type": "object", "required": ["id", "object", "record_id", "process", "step"]}}}}}}}})}})
    _notification_paths(spec)
    spec.path(path=f"{PREFIX}/meta/objects", operations={"get": {
        "tags": tag, "operationId": "list_objects", "summary": "The objects the caller may read",
        "responses": _responses({"200": {"description": "Objects.", "content": {"application/json": {"schema": {
            "type": "object", "required": ["data"],
            "properties": {"data": {"type": "array", "items": ref("ObjectSummary")}}}}}}})}})
    spec.path(path=f"{PREFIX}/meta/objects/{{object}}", operations={"get": {
        "tags": tag, "operationId": "describe_object", "summary": "Fields, layout, list views, actions, permissions",
        "parameters": [{"name": "object", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": _responses({"200": {"description": "The object.", "content": {"application/json": {
            "schema": {**described, "properties": {**described["properties"],
                                                   "fields": {"type": "array", "items": {"type": "object"}}}}}}}},
            "404")}})
    spec.path(path=f"{PREFIX}/meta/schemas/{{kind}}.json", operations={"get": {
        "tags": tag, "operationId": "metadata_schema", "summary": "A metadata JSON Schema, for editors",
        "parameters": [{"name": "kind", "in": "path", "required": True,
                        "schema": {"type": "string", "enum": [*KINDS, "common"]}}],
        "responses": _responses({"200": {"description": "A JSON Schema (2020-12).",
                                         "content": {"application/json": {"schema": {"type": "object"}}}}}, "404")}})
    spec.path(path=f"{PREFIX}/openapi.json", operations={"get": {
        "tags": tag, "operationId": "openapi", "summary": "This document",
        "responses": _responses({"200": {"description": "OpenAPI 3.1.",
                                         "content": {"application/json": {"schema": {"type": "object"}}}}})}})


def _notification_paths(spec: APISpec) -> None:
    tag = ["notifications"]
    spec.tag({"name": "notifications", "description": "The caller's in-app notifications."})
    moment = {"type": "string", "format": "date-time"}
    spec.components.schema("Notification", {
        "type": "object", "required": ["id", "title", "created_at", "read_at"],
        "properties": {"id": {"type": "integer"}, "title": {"type": "string"}, "body": {"type": ["string", "null"]},
                       "object": {"type": ["string", "null"]}, "record_id": {"type": ["integer", "null"]},
                       "source": {"type": ["string", "null"]}, "created_at": moment,
                       "read_at": {**moment, "type": ["string", "null"]}}})
    query = [{"name": "unread", "in": "query", "schema": {"type": "boolean"}},
             {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
             {"name": "before", "in": "query", "schema": {"type": "integer", "minimum": 1}}]
    spec.path(path=f"{PREFIX}/notifications", operations={"get": {
        "tags": tag, "operationId": "list_notifications", "summary": "The caller's notifications, newest first",
        "parameters": query,
        "responses": _responses({"200": {"description": "A page of notifications.", "content": {
            "application/json": {"schema": {"type": "object", "required": ["data", "next_before", "unread"],
                                            "properties": {"data": {"type": "array", "items": ref("Notification")},
                                                           "next_before": {"type": ["integer", "null"]},
                                                           "unread": {"type": ["integer", "string"]}}}}}}})}})
    spec.path(path=f"{PREFIX}/notifications/read", operations={"post": {
        "tags": tag, "operationId": "mark_notifications_read",
        "summary": "Mark notifications read (the ids given, or all)",
        "requestBody": {"required": False, "content": {"application/json": {"schema": {
            "type": "object", "additionalProperties": False,
            "properties": {"ids": {"type": "array", "items": {"type": "integer"}}}}}}},
        "responses": _responses({"200": {"description": "How many were marked.", "content": {"application/json": {
            "schema": {"type": "object", "required": ["marked"],
                       "properties": {"marked": {"type": "integer"}}}}}}}, "422")}})


def _plugin_fragments(spec: APISpec, who: Caller) -> None:
    """Merge each plugin's ``tessera_openapi`` fragment: its paths and component schemas."""
    from tessera.app import PLUGINS_KEY

    plugins = current_app.extensions.get(PLUGINS_KEY)
    if plugins is None or not plugins.has_implementations("tessera_openapi"):
        return
    for fragment in plugins.call("tessera_openapi", registry=who.registry):
        if not fragment:
            continue
        for path, operations in (fragment.get("paths") or {}).items():
            spec.path(path=path, operations=dict(operations))
        for name, schema in ((fragment.get("components") or {}).get("schemas") or {}).items():
            spec.components.schema(name, dict(schema))


_DESCRIPTION = """The records of your org, generated from its metadata: every object of every installed
package, with its real field types.

* **Auth**: `Authorization: Bearer <token>` (or the browser session; then writes need `X-CSRFToken`).
* **Money and decimals are strings** (`"1250.50"`): exact, never a binary float. Send strings (or numbers).
  Dates are `2026-01-31`; date-times ISO 8601 with an offset (UTC).
* **Concurrency**: reads return `ETag: "<version>"`; PATCH needs `If-Match` (428 without), and a stale
  version gets 412 with the fields changed since. Nothing is overwritten silently.
* **Errors** are `application/problem+json` (RFC 9457) with per-field `errors`.
"""
