"""The REST API under ``/api/v1``, generated from the caller's org registry (docs/api.md).

Every object of every installed package appears with no code: the routes take the object's
name, and each call goes through the record service of the caller's org. Every request is
authenticated (session cookie or ``Authorization: Bearer``); every error is
``application/problem+json`` (:mod:`.problems`). ``/api/v1/openapi.json`` describes the org's
objects; ``/api/docs`` renders it with the vendored Swagger UI.

Registered by the app factory: ``app.register_blueprint(bp)``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, redirect, render_template_string, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule

from tessera.jobs import views as jobs_views
from tessera.metadata.filters import QueryError
from tessera.records.errors import RecordError
from tessera.security.web import current_actor

from . import approvals, bulk, meta, notifications, openapi, records
from .context import current_locale, request_locale, set_caller
from .messages import say
from .problems import ApiProblem, http_problem, problem, query_problem, record_problem, server_problem

PREFIX = "/api/v1"
#: the largest request body the API reads (bulk calls of 1,000 rows fit comfortably)
DEFAULT_MAX_BODY = 10 * 1024 * 1024
#: the vendored Swagger UI (ui/static/vendor/, see VERSIONS.md there)
SWAGGER_UI = "vendor/swagger-ui-dist-5.35.0"

bp = Blueprint("api", __name__)
_ID = "<int:record_id>"

_ROUTES: list[tuple[str, str, Any, tuple[str, ...]]] = [
    ("/openapi.json", "openapi", openapi.openapi_document, ("GET",)),
    ("/meta/objects", "list_objects", meta.list_objects, ("GET",)),
    ("/meta/objects/<object_name>", "describe_object", meta.describe_object, ("GET",)),
    ("/meta/schemas/<kind>.json", "metadata_schema", meta.metadata_schema, ("GET",)),
    ("/<object_name>", "list_records", records.list_records, ("GET",)),
    ("/<object_name>", "create_record", records.create_record, ("POST",)),
    ("/<object_name>/bulk", "bulk", bulk.bulk, ("POST",)),
    (f"/<object_name>/{_ID}", "get_record", records.get_record, ("GET",)),
    (f"/<object_name>/{_ID}", "update_record", records.update_record, ("PATCH",)),
    (f"/<object_name>/{_ID}", "delete_record", records.delete_record, ("DELETE",)),
    (f"/<object_name>/{_ID}/restore", "restore_record", records.restore_record, ("POST",)),
    (f"/<object_name>/{_ID}/history", "record_history", records.record_history, ("GET",)),
    (f"/<object_name>/{_ID}/actions/<action>", "run_action", records.run_action, ("POST",)),
    (f"/<object_name>/{_ID}/approvals", "record_approvals", approvals.record_approvals, ("GET",)),
    (f"/<object_name>/{_ID}/approvals", "submit_approval", approvals.submit, ("POST",)),
    (f"/<object_name>/{_ID}/approvals/<decision>", "decide_approval", approvals.decide, ("POST",)),
    ("/approvals/queue", "approval_queue", approvals.queue, ("GET",)),
    ("/notifications", "list_notifications", notifications.list_notifications, ("GET",)),
    ("/notifications/read", "mark_notifications_read", notifications.mark_read, ("POST",)),
    ("/admin/jobs", "list_jobs", jobs_views.api_list_jobs, ("GET",)),  # admins: the job log
    ("/admin/jobs/<int:job_id>", "get_job", jobs_views.api_get_job, ("GET",)),
]
for _path, _endpoint, _view, _methods in _ROUTES:
    bp.add_url_rule(PREFIX + _path, _endpoint, _view, methods=list(_methods))

#: the API's routes alone, to tell "no such address" (404) from "not with this method" (405)
_OWN_ROUTES = Map([Rule(PREFIX + path, endpoint=endpoint, methods=list(methods))
                   for path, endpoint, _view, methods in _ROUTES])


@bp.route(f"{PREFIX}/", defaults={"rest": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@bp.route(f"{PREFIX}/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def elsewhere(rest: str) -> Response:
    """Any other address under /api/v1: a problem, not the site's HTML 404 page."""
    try:
        _OWN_ROUTES.bind("").match(request.path, method=request.method)
    except HTTPException as exc:
        allowed = getattr(exc, "valid_methods", None)
        if allowed:
            shown = ", ".join(sorted(allowed))
            return problem("method-not-allowed", say("method_not_allowed", current_locale(),
                                                     method=request.method, allowed=shown),
                           headers={"Allow": shown})
    return problem("not-found", say("not_found", current_locale()))


@bp.get("/api/docs")
def docs() -> Any:
    """Swagger UI over the caller's OpenAPI document (sign in first: it reads your org)."""
    if current_actor() is None:
        return redirect(url_for("auth.login", next=request.path))
    return render_template_string(_DOCS_PAGE, vendor=SWAGGER_UI, spec=url_for("api.openapi"))


@bp.record_once
def _configure(state: Any) -> None:
    state.app.config.setdefault("API_MAX_BODY", DEFAULT_MAX_BODY)


def _unauthorized() -> Response:
    return problem("unauthorized", say("unauthorized", request_locale()),
                   headers={"WWW-Authenticate": 'Bearer realm="tessera"'})


@bp.before_request
def _authenticate() -> Response | None:
    """Every API call is made by someone: their org and their permissions decide the rest."""
    request.max_content_length = int(current_app.config.get("API_MAX_BODY") or DEFAULT_MAX_BODY)
    if request.endpoint in ("api.docs",):
        return None
    actor = current_actor()
    if actor is None:
        return _unauthorized()
    set_caller(actor)
    if (request.view_args or {}).get("record_id", 0) > records.MAX_ID:  # no such row can exist
        return problem("not-found", say("not_found", current_locale()))
    return None


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers.setdefault("Cache-Control", "no-store")  # records are private to their reader
    return response


# ------------------------------------------------------------------------------ errors

@bp.errorhandler(ApiProblem)
def _api_problem(exc: ApiProblem) -> Response:
    return problem(exc.kind, exc.detail, errors=exc.errors, headers=exc.headers, **exc.extra)


@bp.errorhandler(RecordError)
def _record_error(exc: RecordError) -> Response:
    return record_problem(exc, current_locale(), precondition=bool(g.get("api_precondition")))


@bp.errorhandler(QueryError)
def _query_error(exc: QueryError) -> Response:
    return query_problem(exc, current_locale())


@bp.errorhandler(CSRFError)
def _csrf_missing(exc: CSRFError) -> Response:
    # the CSRF check runs before ours: a write by nobody at all is unauthorized, not a bad form
    if current_actor() is None:
        return _unauthorized()
    return problem("bad-request", say("csrf", current_locale()))


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    return http_problem(exc, current_locale())


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> Response:
    return server_problem(exc, current_locale())


_DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Tessera API</title>
  <link rel="stylesheet" href="{{ url_for('static', filename=vendor + '/swagger-ui.css') }}">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{{ url_for('static', filename=vendor + '/swagger-ui-bundle.js') }}"></script>
  <script>
    // "Try it out" uses the browser session, whose writes carry the CSRF token
    const csrfToken = {{ csrf_token()|tojson }};
    window.ui = SwaggerUIBundle({url: {{ spec|tojson }}, dom_id: "#swagger-ui", validatorUrl: null,
                                 deepLinking: true, withCredentials: true,
                                 requestInterceptor: (req) => { req.headers["X-CSRFToken"] = csrfToken; return req; }});
  </script>
</body>
</html>
"""
