"""Every builder change goes through here: plan, then apply; the history, and revert.

An editor builds a :class:`Pending` change — the overlay documents it writes, the version of
each as the admin read it, a summary, and where to go back to — and answers with
:func:`propose`: the plan page lists what changes (documents, the database's schema diff) or
the problems that stop it. The page carries the change signed with the app's secret (so the
browser cannot alter it between plan and apply); Apply posts it back and :func:`apply_view`
writes it in one transaction. When another admin changed one of those documents meanwhile,
nothing is written and the page says who and asks to reload (optimistic concurrency).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from babel.dates import format_datetime
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer

from tessera.i18n import current_locale
from tessera.metadata.writer import dumps_json, loads_json, normalize, render_yaml
from tessera.security.web import current_actor
from tessera.storage.overlay import Conflict, DocumentChange, InvalidChange, OverlayError
from tessera.storage.sync import SyncError, SyncRefused
from tessera.web.display import current_timezone

from . import bp, metadata, section

SALT = "tessera-admin-change"


@dataclass
class Pending:
    """A change an editor proposes: documents to write (``data`` None removes one), the
    version of each as read (0: it did not exist), a summary for the history, and the page
    to go back to."""

    changes: list[DocumentChange]
    expected: dict[tuple[str, str], int]
    summary: str
    back: str

    def dumps(self) -> str:
        payload = {"changes": [[c.kind, c.name, c.data] for c in self.changes],
                   "expected": [[k[0], k[1], v] for k, v in self.expected.items()],
                   "summary": self.summary, "back": self.back}
        return _signer().dumps(payload)

    @classmethod
    def loads(cls, token: str) -> Pending:
        payload = _signer().loads(token)
        return cls([DocumentChange(kind, name, data) for kind, name, data in payload["changes"]],
                   {(kind, name): int(version) for kind, name, version in payload["expected"]},
                   str(payload["summary"]), str(payload["back"]))


class _MetadataJSON:
    """What the signer writes with: JSON keeping key order and exact decimals (a field's
    ``min: 0.5`` stays a decimal from the plan page to Apply)."""

    @staticmethod
    def dumps(value: Any) -> str:
        return dumps_json(normalize(value))

    @staticmethod
    def loads(text: str | bytes) -> Any:
        return loads_json(text.decode() if isinstance(text, bytes) else text)


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=SALT, serializer=_MetadataJSON)


def version_of(kind: str, name: str) -> int:
    """The stored version of an overlay document (0: the overlay has none)."""
    found = metadata().document(kind, name)
    return found.version if found is not None else 0


def overlay_data(kind: str, name: str) -> dict[str, Any]:
    """A copy of the overlay's document (empty when it has none): what an edit adds to."""
    found = metadata().document(kind, name)
    return _copy(found.data) if found is not None else {}


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_copy(v) for v in value]
    return value


# ------------------------------------------------------------------------------ the plan

@dataclass
class PlanView:
    documents: list[dict[str, Any]]
    steps: list[dict[str, str]]
    problems: list[dict[str, str]]
    refusals: list[str]
    empty: bool


def check(pending: Pending) -> Any:
    """The change's plan (problems included); nothing is written."""
    return metadata().plan(pending.changes)


def propose(pending: Pending, plan: Any = None) -> Any:
    """The plan page of ``pending``: what it changes, or why it cannot."""
    try:
        plan = plan or check(pending)
    except OverlayError as exc:
        return _refused(str(exc), pending.back)
    view = _plan_view(plan)
    status = 422 if view.problems or view.refusals else 200
    return render_template("admin/plan.html", pending=pending, plan=view, token=pending.dumps()), status


def _plan_view(plan: Any) -> PlanView:
    documents = []
    for key in sorted(plan.after):
        before, after = plan.before.get(key), plan.after[key]
        verb = _("Add") if before is None else _("Remove") if after is None else _("Change")
        documents.append({"verb": verb, "kind": KIND_LABELS.get(key[0], key[0]), "name": key[1],
                          "before": render_yaml(before) if before else "", "after": render_yaml(after) if after else ""})
    steps, refusals = [], []
    if plan.storage is not None:
        for step in plan.storage.steps:
            if step.kind == "note":
                continue
            steps.append({"what": STEP_LABELS.get(step.kind, step.kind) % {"table": step.table},
                          "words": step.words})
        refusals = [str(r) for r in plan.storage.refusals]
    problems = [{"where": (f"{KIND_LABELS.get(p.kind, p.kind)} {p.name}" + (f" · {p.where}" if p.where else ""))
                 if p.kind and p.name else str(p.location), "message": p.message} for p in plan.problems]
    return PlanView(documents, steps, problems, refusals, plan.is_empty)


KIND_LABELS = {"object": _l("Object"), "flow": _l("Flow"), "role": _l("Role"), "app": _l("App"),
               "report": _l("Report"), "dashboard": _l("Dashboard")}
STEP_LABELS = {
    "create_table": _l("Create the table %(table)s"), "add_column": _l("Add a column to %(table)s"),
    "retire_column": _l("Retire a column of %(table)s (its data is kept)"),
    "restore_column": _l("Restore a retired column of %(table)s"),
    "create_index": _l("Create an index on %(table)s"), "drop_index": _l("Drop an index of %(table)s"),
    "add_foreign_key": _l("Link %(table)s to another table"), "drop_foreign_key": _l("Unlink %(table)s"),
    "change_type": _l("Change a column type of %(table)s"), "rebuild_table": _l("Rebuild the table %(table)s"),
}


def _refused(message: str, back: str, status: int = 400) -> Any:
    return render_template("admin/refused.html", message=message, back=back), status


# ------------------------------------------------------------------------------ apply

def _not_made(exc: Exception, back: str) -> Any:
    """The page for a change the overlay refused: who changed what meanwhile (409), the
    metadata problems (422), what the database would lose (409), or why (400; 503 when the
    database failed). Nothing was written in any case."""
    if isinstance(exc, Conflict):
        lines = [_("%(kind)s %(name)s was changed by someone else (change %(by)s) after you opened it.",
                   kind=KIND_LABELS.get(c.kind, c.kind), name=c.name, by=c.by.id if c.by else "?")
                 for c in exc.conflicts] or [str(exc)]
        return render_template("admin/conflict.html", lines=lines, back=back), 409
    if isinstance(exc, InvalidChange | SyncRefused):
        return _refused("; ".join(str(p) for p in exc.problems), back, 422 if isinstance(exc, InvalidChange) else 409)
    return _refused(str(exc), back, 503 if isinstance(exc, SyncError) else 400)


@bp.post("/changes/apply")
def apply_view() -> Any:
    try:
        pending = Pending.loads(request.form.get("change", ""))
    except (BadSignature, KeyError, TypeError, ValueError):
        return _refused(_("This change cannot be read. Go back and make it again."), url_for("admin.home"))
    who = current_actor()
    try:
        result = metadata().apply(pending.changes, expected_versions=pending.expected,
                                  actor=f"user:{who.username or who.id}", summary=pending.summary)
    except InvalidChange as exc:
        plan = metadata().plan(pending.changes)
        if plan.valid:  # the problems came with another admin's change in between
            return _not_made(exc, pending.back)
        return propose(pending, plan)
    except (OverlayError, SyncError) as exc:
        return _not_made(exc, pending.back)
    if result.applied:
        flash(_("Applied: %(summary)s", summary=pending.summary), "success")
    else:
        flash(_("Nothing to change: the overlay already holds this."), "success")
    return redirect(pending.back, 303)


# ------------------------------------------------------------------------------ history

@bp.get("/history")
def history() -> Any:
    before = request.args.get("before", type=int)
    rows = metadata().history(limit=51, before=before)
    older = url_for("admin.history", before=rows[49].id) if len(rows) > 50 else None
    return render_template("admin/history.html", changes=[change_view(c) for c in rows[:50]], older=older)


@bp.get("/history/<int:change_id>")
def history_detail(change_id: int) -> Any:
    try:
        change = metadata().change(change_id)
    except OverlayError:
        return _refused(_("There is no change %(id)s.", id=change_id), url_for("admin.history"), 404)
    view = change_view(change)
    documents = []
    for key in sorted(set(change.before) | set(change.after)):
        before, after = change.before.get(key), change.after.get(key)
        documents.append({"kind": KIND_LABELS.get(key[0], key[0]), "name": key[1],
                          "before": render_yaml(before) if before else "", "after": render_yaml(after) if after else ""})
    return render_template("admin/change.html", change=view, documents=documents)


@bp.post("/history/<int:change_id>/revert")
def revert(change_id: int) -> Any:
    who = current_actor()
    back = url_for("admin.history_detail", change_id=change_id)
    try:
        result = metadata().revert(change_id, actor=f"user:{who.username or who.id}")
    except (OverlayError, SyncError) as exc:
        return _not_made(exc, back)
    flash(_("Change %(id)s was reverted (change %(new)s).", id=change_id, new=result.change_id), "success")
    return redirect(url_for("admin.history"), 303)


def change_view(change: Any) -> dict[str, Any]:
    data = change.as_dict()
    data["when"] = format_datetime(change.at, "short", tzinfo=current_timezone(),
                                   locale=current_locale().replace("-", "_"))
    keys = sorted(set(change.before) | set(change.after))
    data["documents"] = [f"{KIND_LABELS.get(k[0], k[0])} {k[1]}" for k in keys]
    return data


section("admin.history", _l("Change history"))
