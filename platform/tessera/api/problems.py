"""Errors as ``application/problem+json`` (RFC 9457): every refusal the API makes, and every
error the record service raises, turned into one shape::

    {"type": "https://tessera.dev/problems/validation", "title": "Validation failed",
     "status": 422, "detail": "<for people, in the caller's locale>",
     "errors": {"phone": ["Enter a phone number ..."]}}

``errors`` is always ``{name: [message, ...]}``: record fields for 422, query parameters or
body members for 400. Other members carry what a client needs to act (``changed_fields`` of a
stale write, ``results`` of a refused batch, ``blockers`` of a refused delete). A server error
says only that it happened; the traceback goes to the log, never to the client.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson
from flask import Response, request
from werkzeug.exceptions import HTTPException

from tessera.metadata.filters import QueryError
from tessera.plugins import PluginHookError
from tessera.records.actions import UnknownAction
from tessera.records.errors import (
    DeleteRefused,
    RecordError,
    RecordNotFound,
    StaleRecord,
    UnknownObject,
    ValidationFailed,
)
from tessera.security.permissions import PermissionDenied

from .messages import say

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://tessera.dev/problems/"
PROBLEM_TYPE = "application/problem+json"

#: slug -> (status, title): every kind of problem the API answers with (docs/api.md lists them)
KINDS: Mapping[str, tuple[int, str]] = {
    "bad-request": (400, "Bad request"),
    "unauthorized": (401, "Unauthorized"),
    "forbidden": (403, "Forbidden"),
    "not-found": (404, "Not found"),
    "method-not-allowed": (405, "Method not allowed"),
    "conflict": (409, "Conflict"),
    "precondition-failed": (412, "Precondition failed"),
    "payload-too-large": (413, "Payload too large"),
    "validation": (422, "Validation failed"),
    "batch-failed": (422, "Batch refused"),
    "precondition-required": (428, "Precondition required"),
    "too-many-requests": (429, "Too many requests"),
    "server-error": (500, "Internal server error"),
}
_BY_STATUS = {status: slug for slug, (status, _title) in reversed(list(KINDS.items()))}


class ApiProblem(Exception):
    """A refusal the API itself makes; raised anywhere in a view, answered as a problem."""

    def __init__(self, kind: str, detail: str, *, errors: Mapping[str, Any] | None = None,
                 headers: Mapping[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.kind, self.detail, self.errors = kind, detail, errors
        self.headers = dict(headers or {})
        self.extra = extra


def problem(kind: str, detail: str, *, errors: Mapping[str, Any] | None = None,
            headers: Mapping[str, str] | None = None, **extra: Any) -> Response:
    """The problem+json response of ``kind`` (a key of :data:`KINDS`)."""
    status, title = KINDS[kind]
    body: dict[str, Any] = {"type": PROBLEM_BASE + kind, "title": title, "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = {name: list(messages) if isinstance(messages, list | tuple) else [str(messages)]
                          for name, messages in errors.items()}
    body.update(extra)
    response = Response(orjson.dumps(body, default=_json_default), status=status, mimetype=PROBLEM_TYPE)
    response.headers.update(headers or {})
    return response


def _json_default(value: Any) -> Any:
    from .serialize import json_default

    return json_default(value)


def query_problem(exc: QueryError, locale: str) -> Response:
    return problem("bad-request", say("query_problems", locale), errors=exc.messages(locale))


def record_problem(exc: RecordError, locale: str, *, precondition: bool = False) -> Response:
    """The problem for an error of the record service. ``precondition``: the request carried
    If-Match, so a stale record fails the precondition (412) rather than conflicting (409)."""
    if isinstance(exc, ValidationFailed):
        return problem("validation", exc.message(locale), errors=exc.messages(locale))
    if isinstance(exc, StaleRecord):
        return problem("precondition-failed" if precondition else "conflict", exc.message(locale),
                       changed_fields=exc.changed_fields, current_version=exc.current,
                       headers={"ETag": etag(exc.current)})
    if isinstance(exc, DeleteRefused):
        return problem("conflict", exc.message(locale), blockers=exc.blockers)
    if isinstance(exc, PermissionDenied):
        return problem("forbidden", exc.message(locale))
    if isinstance(exc, UnknownObject):
        return problem("not-found", say("unknown_object", locale, object=exc.object))
    if isinstance(exc, UnknownAction):
        return problem("not-found", say("unknown_action", locale, object=exc.object, action=exc.name))
    if isinstance(exc, RecordNotFound):
        return problem("not-found", exc.message(locale))
    if isinstance(exc, PluginHookError):
        log.error("%s", exc, exc_info=exc.error)
        return problem("server-error", exc.message(locale))
    kind = _BY_STATUS.get(exc.status, "bad-request")
    return problem(kind, exc.message(locale))


def http_problem(exc: HTTPException, locale: str) -> Response:
    """Werkzeug's HTTP errors (413 from the body limit, 429, 405 ...) as problems."""
    status = exc.code or 500
    kind = _BY_STATUS.get(status)
    headers = {key: value for key, value in exc.get_headers() if key.lower() in ("allow", "retry-after")}
    if status == 413:
        return problem("payload-too-large", say("too_large", locale, limit=request.max_content_length), headers=headers)
    if status == 429:
        return problem("too-many-requests", say("too_many_requests", locale), headers=headers)
    if status == 404:
        return problem("not-found", say("not_found", locale))
    if kind is None:
        kind = "server-error" if status >= 500 else "bad-request"
    return problem(kind, exc.description or KINDS[kind][1], headers=headers)


def server_problem(exc: BaseException, locale: str) -> Response:
    """Anything unexpected: logged with its traceback, answered without one."""
    log.error("unhandled error in %s %s", request.method, request.path, exc_info=exc)
    return problem("server-error", say("server_error", locale))


def etag(version: int) -> str:
    return f'"{version}"'
