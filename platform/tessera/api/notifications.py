"""The caller's in-app notifications over the API (docs/api.md#notifications):

* ``GET  /api/v1/notifications`` — newest first; ``unread=true`` for the unread ones only,
  ``limit`` (1–200, default 50), ``before`` (an id, from ``next_before``) for the next page;
  the answer carries ``unread`` (how many, up to 100 exactly, then ``"100+"``);
* ``POST /api/v1/notifications/read`` — ``{"ids": [1, 2]}`` marks those read, ``{}`` all of them;
  answers ``{"marked": n}``. Ids of other users' notifications are ignored.
"""

from __future__ import annotations

from typing import Any

from tessera import notifications

from .context import caller, flag, refuse_unknown_parameters, whole_number
from .messages import say
from .problems import ApiProblem
from .records import bad_parameters
from .serialize import json_response, read_json

UNREAD_CAP = 100


def list_notifications() -> Any:
    who = caller()
    refuse_unknown_parameters(("unread", "limit", "before"), who.locale)
    errors: dict[str, list[str]] = {}
    unread_only = flag("unread", errors, False)
    limit = whole_number("limit", 1, notifications.MAX_PAGE, errors, default=50)
    before = whole_number("before", 1, None, errors)
    if errors:
        raise bad_parameters(errors, who.locale)
    with who.service.unit_of_work(who.actor, read_only=True) as work:
        found = notifications.for_user(work, who.actor.id, unread_only=unread_only, limit=limit + 1, before=before)
        count, capped = notifications.unread_count(work, who.actor.id, cap=UNREAD_CAP)
    page = found[:limit]
    return json_response({"data": [n.as_json() for n in page],
                          "next_before": page[-1].id if len(found) > limit else None,
                          "unread": f"{count}+" if capped else count})


def mark_read() -> Any:
    who = caller()
    refuse_unknown_parameters((), who.locale)
    data = read_json(who.locale, optional=True)
    unknown = sorted(set(data) - {"ids"})
    ids = data.get("ids")
    errors = {name: [say("unknown_member", who.locale, name=name)] for name in unknown}
    if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool)
                                                                   for i in ids)):
        errors["ids"] = [say("enter_ids", who.locale)]
    if errors:
        raise ApiProblem("validation", say("bad_body", who.locale, names=", ".join(sorted(errors))), errors=errors)
    with who.service.unit_of_work(who.actor) as work:
        marked = notifications.mark_read(work, who.actor.id, ids)
    return json_response({"marked": marked})
