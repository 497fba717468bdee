"""Record screens: the record page ``/o/<object>/<id>`` (header and actions, details, related
lists, activity timeline, field history, plugin panels), its actions, delete and restore, and
the create/edit forms (:mod:`.forms`).

One data function (:func:`tessera.web.record_parts.load_record`) feeds the full page, the htmx
fragment and the JSON answer. Unknown objects and records are 404 pages, refusals 403 pages
(the shell's error handlers); nothing a user typed is ever shown unescaped.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, make_response, redirect, render_template, request
from flask_babel import gettext as _

from tessera.records.errors import RecordError, ValidationFailed
from tessera.security.web import login_required_actor

from . import forms
from .feedback import problem_lines
from .shell import vary_on_htmx, wants_fragment
from .record_parts import action_data, action_inputs, load_record, related_list, related_relations
from .screen import Screen, is_htmx, list_url, record_id, record_url, screen

bp = Blueprint("records_ui", __name__)


def _route(rule: str, view: Any, methods: tuple[str, ...] = ("GET",), endpoint: str | None = None) -> None:
    bp.add_url_rule(rule, endpoint or view.__name__, login_required_actor(view), methods=list(methods))


# ------------------------------------------------------------------------------ the record page

def record_page(object_name: str, record_id_: int) -> Any:
    scr = screen()
    obj = scr.object(object_name)
    ident = record_id(record_id_)
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    if best == "application/json" and not is_htmx():
        from tessera.api.serialize import json_response

        with scr.reading() as work:
            view = load_record(scr, work, obj, ident)
        return json_response({"data": view.record, "deleted": view.deleted, "allowed": sorted(view.allowed)})
    return _render(scr, obj, ident)


def _render(scr: Screen, obj: Any, ident: int, *, messages: list[str] | None = None, result: Any = None,
            status: int = 200) -> Any:
    with scr.reading() as work:
        view = load_record(scr, work, obj, ident)
    template = "_record_partial.html" if wants_fragment() else "record.html"
    return vary_on_htmx(make_response(render_template(template, view=view, messages=messages or [], result=result),
                                      status))


def related(object_name: str, record_id_: int, relation_name: str) -> Any:
    """One related list (loaded when the record page scrolls to it)."""
    scr = screen()
    obj = scr.object(object_name)
    ident = record_id(record_id_)
    with scr.reading() as work:
        if not work.permitted(obj.name, ident):
            abort(404)
        relation = next((r for r in related_relations(scr, work, obj) if r.name == relation_name), None)
        if relation is None:
            abort(404)
        shown = related_list(scr, work, obj, ident, relation)
    return render_template("_record_related.html", related=shown)


# ------------------------------------------------------------------------------ actions

def run_action(object_name: str, record_id_: int, action_name: str) -> Any:
    """Run a plugin action; the page (or, with htmx, its header, details and message area)
    shows the result or every problem."""
    scr = screen()
    obj = scr.object(object_name)
    ident = record_id(record_id_)
    action = next((a for a in scr.service.actions.for_object(obj.name) if a.name == action_name), None)
    if action is None:
        abort(404)
    data = action_data(action, request.form)
    label = action.label.get(scr.locale) or action.label["en"]
    try:
        with scr.work() as work:
            result = work.run_action(obj.name, ident, action.name, data)
    except ValidationFailed as exc:
        inputs = action_inputs(action, scr.locale, request.form, exc.messages(scr.locale))
        messages = [_("%(action)s could not run; see the problems below.", action=label)]
        messages += [line for line in problem_lines(exc, obj, scr.locale) if not _is_input(line, inputs)]
        return _action_answer(scr, obj, ident, messages=messages, inputs=(action.name, inputs), status=422)
    except RecordError as exc:
        return _action_answer(scr, obj, ident, messages=problem_lines(exc, obj, scr.locale), status=exc.status)
    return _action_answer(scr, obj, ident, result=(label, result), done=action.name)


def _is_input(line: str, inputs: list[Any]) -> bool:
    return any(item.errors and line.startswith(f"{item.name}: ") for item in inputs)


def _action_answer(scr: Screen, obj: Any, ident: int, *, messages: list[str] | None = None, result: Any = None,
                   inputs: tuple[str, list[Any]] | None = None, status: int = 200, done: str | None = None) -> Any:
    if not is_htmx():
        return _render(scr, obj, ident, messages=messages, result=result, status=status)
    with scr.reading() as work:
        view = load_record(scr, work, obj, ident)
    response = make_response(render_template("_record_action_result.html", view=view, messages=messages or [],
                                             result=result, inputs=inputs, done=done))
    if done:
        response.headers["HX-Trigger"] = "tessera:action-done"
    return response  # 200 so that htmx swaps the answer in; the message says what happened


# ------------------------------------------------------------------------------ delete and restore

def delete_record(object_name: str, record_id_: int) -> Any:
    scr = screen()
    obj = scr.object(object_name)
    ident = record_id(record_id_)
    version = request.form.get("version", type=int)
    try:
        with scr.work() as work:
            work.delete(obj.name, ident, version=version)
    except RecordError as exc:
        if exc.status in (403, 404):
            raise
        return _action_answer(scr, obj, ident, messages=problem_lines(exc, obj, scr.locale), status=exc.status)
    return _go(list_url(obj.name))


def restore_record(object_name: str, record_id_: int) -> Any:
    scr = screen()
    obj = scr.object(object_name)
    ident = record_id(record_id_)
    try:
        with scr.work() as work:
            work.restore(obj.name, ident)
    except RecordError as exc:
        if exc.status in (403, 404):
            raise
        return _action_answer(scr, obj, ident, messages=problem_lines(exc, obj, scr.locale), status=exc.status)
    return _go(record_url(obj.name, ident))


def _go(target: str) -> Any:
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, code=303)


_route("/o/<object_name>/<int:record_id_>", record_page)
_route("/o/<object_name>/<int:record_id_>/related/<relation_name>", related)
_route("/o/<object_name>/<int:record_id_>/actions/<action_name>", run_action, ("POST",))
_route("/o/<object_name>/<int:record_id_>/delete", delete_record, ("POST",))
_route("/o/<object_name>/<int:record_id_>/restore", restore_record, ("POST",))
_route("/o/<object_name>/new", forms.new_record, ("GET", "POST"))
_route("/o/<object_name>/<int:record_id_>/edit", forms.edit_record, ("GET", "POST"))
_route("/o/<object_name>/new/refresh", forms.refresh_form, ("POST",), endpoint="refresh_new")
_route("/o/<object_name>/<int:record_id_>/edit/refresh", forms.refresh_form, ("POST",))
_route("/o/<object_name>/lines/<relation_name>", forms.new_line)
_route("/o/<object_name>/lookup/<field_name>", forms.lookup_choices)
