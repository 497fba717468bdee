"""Approvals on the screens: the record page's approval panel (status, who decides, history,
and Submit / Approve / Reject / Recall with a comment) and ``/approvals``, the requests the
signed-in user decides now.

The buttons are plain form posts (CSRF token included) that come back to the record page with
a message, so they work without JavaScript; every refusal is a message, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request
from flask_babel import gettext as _

from tessera.metadata.model import ObjectDef
from tessera.records.errors import RecordError, ValidationFailed
from tessera.security.web import login_required_actor

from .display import format_value, user_refs
from .feedback import problem_lines
from .screen import Screen, record_id, record_url, screen

bp = Blueprint("approvals_ui", __name__)

@dataclass
class ApprovalEntry:
    who: str
    action: str
    step: str
    comment: str | None
    at: str


@dataclass
class ApprovalPanel:
    """What the record page shows of a record's approvals."""

    process: str
    status: str | None = None  # the latest request's status, in words
    step: str | None = None
    approvers: list[str] = field(default_factory=list)
    history: list[ApprovalEntry] = field(default_factory=list)
    can_submit: bool = False
    can_decide: bool = False
    can_recall: bool = False


def _status(key: str) -> str:
    return {"pending": _("Waiting for approval"), "approved": _("Approved"), "rejected": _("Rejected"),
            "recalled": _("Recalled")}.get(key, key)


def _action(key: str) -> str:
    return {"submit": _("submitted"), "approve": _("approved"), "reject": _("rejected"),
            "recall": _("recalled")}.get(key, key)


def approval_panel(scr: Screen, work: Any, obj: ObjectDef, record: dict[str, Any], allowed: frozenset[str]
                   ) -> ApprovalPanel | None:
    """The panel of a record whose object has an approval process; None otherwise."""
    approvals = scr.service.flows.approvals
    processes = approvals.by_object.get(obj.name)
    if not processes:
        return None
    process = processes[0]
    steps = {s.name: s.label(scr.locale) for s in process.steps}
    panel = ApprovalPanel(process.label(scr.locale))
    requests = approvals.for_record(work, obj.name, record["id"])
    users = user_refs(scr.actor.org)

    def name(user_id: Any) -> str:
        found = users.get(user_id) if user_id is not None else None
        return found.name if found is not None else _("System")

    if requests:
        latest = requests[0]
        panel.status = _status(latest["status"])
        panel.step = steps.get(latest["step"], latest["step"]) if latest["step"] else None
        panel.approvers = [name(u) for u in latest["approvers"]]
        for entry in reversed(latest["history"]):
            panel.history.append(ApprovalEntry(name(entry["actor"]), _action(entry["action"]),
                                               steps.get(entry["step"], entry["step"] or ""), entry["comment"],
                                               _at(scr, obj, entry["at"])))
        pending = latest["status"] == "pending"
        actor = scr.actor
        role = scr.registry.roles.get(actor.role) if actor.role else None
        is_admin = role is not None and role.admin
        panel.can_decide = pending and (actor.id in latest["approvers"] or is_admin)
        panel.can_recall = pending and (latest["submitted_by"] == actor.id or is_admin)
        panel.can_submit = not pending and "edit" in allowed
    else:
        panel.can_submit = "edit" in allowed
    return panel


def _answer(obj: ObjectDef, ident: int) -> Any:
    return redirect(record_url(obj.name, ident) + "#approval")


def submit(object_name: str, record_id_: int) -> Any:
    scr = screen()
    obj = scr.object(object_name)
    ident = record_id(record_id_)
    return _do(scr, obj, ident, lambda work, comment: scr.service.flows.approvals.submit(
        work, obj.name, ident, None, comment), _("Submitted for approval."))


def decide(object_name: str, record_id_: int, decision: str) -> Any:
    scr = screen()
    obj = scr.object(object_name)
    ident = record_id(record_id_)
    approvals = scr.service.flows.approvals
    if decision == "recall":
        return _do(scr, obj, ident, lambda work, comment: approvals.recall(work, obj.name, ident, comment),
                   _("The request was recalled."))
    if decision not in ("approve", "reject"):
        abort(404)
    done = _("Approved.") if decision == "approve" else _("Rejected.")
    return _do(scr, obj, ident, lambda work, comment: approvals.decide(work, obj.name, ident, decision, comment), done)


def _do(scr: Screen, obj: ObjectDef, ident: int, step: Any, done: str) -> Any:
    comment = (request.form.get("comment") or "").strip() or None
    try:
        with scr.work() as work:
            step(work, comment)
    except ValidationFailed as exc:
        for line in problem_lines(exc, obj, scr.locale):
            flash(line, "danger")
        return _answer(obj, ident)
    except RecordError as exc:
        if exc.status == 404:
            raise
        flash(exc.message(scr.locale), "danger")
        return _answer(obj, ident)
    flash(done, "success")
    return _answer(obj, ident)


def queue_page() -> Any:
    """The approval requests the signed-in user decides now, oldest first."""
    scr = screen()
    with scr.reading() as work:
        rows = scr.service.flows.approvals.queue(work)
        users = user_refs(scr.actor.org)
        items = []
        for row in rows:
            obj = scr.registry.objects.get(row["object"])
            if obj is None:
                continue
            process = scr.service.flows.approvals.processes.get(row["process"])
            steps = {s.name: s.label(scr.locale) for s in process.steps} if process else {}
            try:
                record = work.get(obj.name, row["record_id"])
                title = str(record.get(obj.name_field) or f"#{row['record_id']}")
            except RecordError:
                title = f"#{row['record_id']}"
            submitter = users.get(row["submitted_by"])
            items.append({"object": obj.label(scr.locale), "title": title,
                          "url": record_url(obj.name, row["record_id"]) + "#approval",
                          "process": process.label(scr.locale) if process else row["process"],
                          "step": steps.get(row["step"], row["step"]),
                          "submitted_by": submitter.name if submitter else _("System"),
                          "submitted_at": _at(scr, obj, row["submitted_at"])})
    return render_template("approvals.html", items=items)


def _at(scr: Screen, obj: ObjectDef, value: Any) -> str:
    """A moment as the user reads it (their locale and time zone)."""
    return str(format_value(obj.fields["updated_at"], value, scr.locale, tz=scr.tz))


bp.add_url_rule("/o/<object_name>/<int:record_id_>/approvals", "submit",
                login_required_actor(submit), methods=["POST"])
bp.add_url_rule("/o/<object_name>/<int:record_id_>/approvals/<decision>", "decide",
                login_required_actor(decide), methods=["POST"])
bp.add_url_rule("/approvals", "queue", login_required_actor(queue_page))
