"""Approval requests over the API (docs/api.md#approvals):

* ``GET  /api/v1/{object}/{id}/approvals`` — the record's requests, newest first, with history;
* ``POST /api/v1/{object}/{id}/approvals`` — submit (``{"process": ..., "comment": ...}``, both
  optional), 201 with the request;
* ``POST /api/v1/{object}/{id}/approvals/{approve|reject|recall}`` — ``{"comment": ...}``;
* ``GET  /api/v1/approvals/queue`` — what the caller decides now.

Refusals (not an approver, nothing pending, entry criteria not met) are 422 problems with a
record-level message; an object without an approval process is 404.
"""

from __future__ import annotations

from typing import Any

from .context import caller, refuse_unknown_parameters
from .messages import say
from .problems import ApiProblem
from .serialize import json_response, read_json

DECISIONS = ("approve", "reject", "recall")


def _body(locale: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    """The optional JSON body: only ``allowed`` members, each text (or null)."""
    data = read_json(locale, optional=True)
    errors = {name: [say("unknown_member", locale, name=name)] for name in sorted(set(data) - set(allowed))}
    errors.update({key: [say("enter_text", locale)] for key in allowed
                   if data.get(key) is not None and not isinstance(data[key], str)})
    if errors:
        raise ApiProblem("validation", say("bad_body", locale, names=", ".join(sorted(errors))), errors=errors)
    return dict(data)


def _approvals(who: Any, object_name: str) -> Any:
    approvals = who.service.flows.approvals
    if object_name not in approvals.by_object:
        raise ApiProblem("not-found", say("no_approval_process", who.locale, object=object_name))
    return approvals


def record_approvals(object_name: str, record_id: int) -> Any:
    who = caller()
    obj = who.object(object_name)
    refuse_unknown_parameters((), who.locale)
    approvals = _approvals(who, obj.name)
    with who.service.unit_of_work(who.actor, read_only=True) as work:
        return json_response({"data": approvals.for_record(work, obj.name, record_id)})


def submit(object_name: str, record_id: int) -> Any:
    who = caller()
    obj = who.object(object_name)
    refuse_unknown_parameters((), who.locale)
    approvals = _approvals(who, obj.name)
    data = _body(who.locale, ("process", "comment"))
    with who.service.unit_of_work(who.actor) as work:
        request = approvals.submit(work, obj.name, record_id, data.get("process"), data.get("comment"))
    return json_response(request, 201)


def decide(object_name: str, record_id: int, decision: str) -> Any:
    who = caller()
    obj = who.object(object_name)
    refuse_unknown_parameters((), who.locale)
    if decision not in DECISIONS:
        raise ApiProblem("not-found", say("not_found", who.locale))
    approvals = _approvals(who, obj.name)
    data = _body(who.locale, ("comment",))
    with who.service.unit_of_work(who.actor) as work:
        if decision == "recall":
            request = approvals.recall(work, obj.name, record_id, data.get("comment"))
        else:
            request = approvals.decide(work, obj.name, record_id, decision, data.get("comment"))
    return json_response(request)


def queue() -> Any:
    who = caller()
    refuse_unknown_parameters((), who.locale)
    with who.service.unit_of_work(who.actor, read_only=True) as work:
        return json_response({"data": who.service.flows.approvals.queue(work)})
