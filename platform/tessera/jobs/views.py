"""The job log for admins: the page ``/admin/jobs`` and ``GET /api/v1/admin/jobs[/{id}]``.

One data function (:func:`job_log`) feeds the page, its htmx fragment and the JSON. Only
admins of the org see its jobs (others get 403): a job's payload and error may name any
record. Errors show their message only; tracebacks stay in the worker's log.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from babel.dates import format_datetime
from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _

from tessera.app import current_records
from tessera.i18n import current_locale
from tessera.security.permissions import PermissionDenied
from tessera.security.web import current_actor, login_required_actor
from tessera.web.display import current_timezone
from tessera.web.shell import access, error_page, vary_on_htmx, wants_fragment

from .store import MAX_PAGE, JobPage
from .types import STATUSES

bp = Blueprint("jobs", __name__)

#: jobs per page on /admin/jobs and the API's default ``limit``
PAGE_SIZE = 50
#: the query parameters of the list
LIST_PARAMETERS = ("status", "name", "before", "limit")


@dataclass(frozen=True)
class JobLog:
    """A page of one org's job log. ``deployed`` is False before the org's schema has the
    job table (``tessera metadata deploy``)."""

    page: JobPage
    counts: dict[str, int]
    deployed: bool = True


def job_log(records: Any, *, status: str | None = None, name: str | None = None, before: int | None = None,
            limit: int = PAGE_SIZE) -> JobLog:
    """The newest jobs of ``records``' org, filtered, with the count of jobs per status."""
    store = current_app.extensions["tessera.jobs"].store(records)
    try:
        with records.db.read() as conn:
            return JobLog(store.page(conn, status=status, name=name, before=before, limit=limit), store.counts(conn))
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):  # no job table yet
        return JobLog(JobPage([], None), dict.fromkeys(STATUSES, 0), deployed=False)


def _require_admin(actor: Any, access: Any) -> None:
    if not access.unrestricted:
        raise PermissionDenied("jobs", "read", actor)


# ------------------------------------------------------------------------------ the page

def status_labels() -> dict[str, str]:
    return {"queued": _("Queued"), "running": _("Running"), "retrying": _("Waiting to retry"),
            "done": _("Done"), "failed": _("Failed")}


@bp.get("/admin/jobs")
@login_required_actor
def job_list() -> Any:
    """The job log, newest first; ``?status=`` filters, ``?before=`` pages on."""
    _require_admin(current_actor(), access())
    status = request.args.get("status") or None
    if status is not None and status not in STATUSES:
        return error_page(400, _("No such status"), _("Choose one of the statuses listed on the page."))
    before = request.args.get("before", type=int)
    if before is not None and not 0 < before < 2**63:
        before = None
    log = job_log(current_records(), status=status, before=before)
    template = "jobs/_log.html" if wants_fragment() else "jobs/list.html"
    return vary_on_htmx(current_app.make_response(render_template(
        template, log=log, status=status, statuses=status_labels(), when=_when)))


def _when(value: dt.datetime | None) -> str:
    """A moment in the signed-in user's time zone and language."""
    if value is None:
        return ""
    return format_datetime(value, "short", tzinfo=current_timezone(), locale=current_locale().replace("-", "_"))


# ------------------------------------------------------------------------------ the API

def api_list_jobs() -> Any:
    """``GET /api/v1/admin/jobs``: ``{"data": [...], "next_before": id | null, "counts": {...}}``."""
    from tessera.api.context import caller, refuse_unknown_parameters, whole_number
    from tessera.api.records import bad_parameters
    from tessera.api.serialize import json_response

    who = caller()
    _require_admin(who.actor, who.access)
    refuse_unknown_parameters(LIST_PARAMETERS, who.locale)
    errors: dict[str, list[str]] = {}
    status = request.args.get("status") or None
    if status is not None and status not in STATUSES:
        errors["status"] = [f"expected one of {', '.join(STATUSES)}, got '{status}'"]
    before = whole_number("before", 1, 2**63 - 1, errors)
    limit = whole_number("limit", 1, MAX_PAGE, errors, default=PAGE_SIZE)
    if errors:
        raise bad_parameters(errors, who.locale)
    log = job_log(who.service, status=status, name=request.args.get("name") or None, before=before,
                  limit=limit or PAGE_SIZE)
    return json_response({"data": [job.as_json() for job in log.page.rows], "next_before": log.page.next_before,
                          "counts": log.counts})


def api_get_job(job_id: int) -> Any:
    """``GET /api/v1/admin/jobs/{id}``: one job, or 404."""
    from tessera.api.context import caller, refuse_unknown_parameters
    from tessera.api.messages import say
    from tessera.api.problems import ApiProblem
    from tessera.api.serialize import json_response

    who = caller()
    _require_admin(who.actor, who.access)
    refuse_unknown_parameters((), who.locale)
    store = current_app.extensions["tessera.jobs"].store(who.service)
    job = None
    if 0 < job_id < 2**63:
        try:
            with who.service.db.read() as conn:
                job = store.get(conn, job_id)
        except (sa.exc.OperationalError, sa.exc.ProgrammingError):
            job = None
    if job is None:
        raise ApiProblem("not-found", say("not_found", who.locale))
    return json_response(job.as_json())


def openapi_paths(spec: Any, prefix: str, responses: Any) -> None:
    """The job log's operations in the OpenAPI document (admins' documents only)."""
    job = {"type": "object", "required": ["id", "key", "name", "status", "attempts", "max_attempts"],
           "properties": {
               "id": {"type": "integer"}, "key": {"type": "string"}, "name": {"type": "string"},
               "status": {"type": "string", "enum": list(STATUSES)}, "attempts": {"type": "integer"},
               "max_attempts": {"type": "integer"}, "last_error": {"type": ["string", "null"]},
               "payload": {"type": "object"}, "result": {"type": ["object", "null"]},
               "created_by": {"type": ["integer", "null"], "description": "The user who enqueued it."},
               **{name: {"type": ["string", "null"], "format": "date-time"}
                  for name in ("created_at", "updated_at", "started_at", "finished_at", "run_after")}}}
    spec.tag({"name": "jobs", "description": "Background jobs of the org (admins only)."})
    spec.components.schema("Job", job)
    ref = {"$ref": "#/components/schemas/Job"}
    spec.path(path=f"{prefix}/admin/jobs", operations={"get": {
        "tags": ["jobs"], "operationId": "list_jobs", "summary": "The job log, newest first",
        "parameters": [
            {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(STATUSES)}},
            {"name": "name", "in": "query", "schema": {"type": "string"}, "description": "A job type."},
            {"name": "before", "in": "query", "schema": {"type": "integer", "minimum": 1},
             "description": "Jobs older than this id (the `next_before` of the previous page)."},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}}],
        "responses": responses({"200": {"description": "A page of jobs.", "content": {"application/json": {
            "schema": {"type": "object", "required": ["data", "next_before", "counts"], "properties": {
                "data": {"type": "array", "items": ref}, "next_before": {"type": ["integer", "null"]},
                "counts": {"type": "object", "additionalProperties": {"type": "integer"}}}}}}}})}})
    spec.path(path=f"{prefix}/admin/jobs/{{id}}", operations={"get": {
        "tags": ["jobs"], "operationId": "get_job", "summary": "One job",
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "responses": responses({"200": {"description": "The job.", "content": {"application/json": {
            "schema": ref}}}}, "404")}})

