"""The ``notify`` step: tell people about a record, in the app and by e-mail.

::

    - type: notify
      to: [{field: owner_id}, {manager_of: owner_id}, {role: finance}, {user: admin}]
      title: {en: '"Contract " & name & " expires on " & TEXT(end_date)',
              zh-CN: '"合同 " & name & " 将于 " & TEXT(end_date) & " 到期"'}
      body: '"Days left: " & TEXT(days_to_expiry)'      # optional; one formula serves every language
      channels: [in_app, email]                          # default: in_app
      email_fields: [email]                              # optional: addresses held by the record (e-mail only)

Each recipient gets the title and body in their own language (English when the step has none
for it). In-app notifications are written in the flow's transaction; e-mails are queued as
``tessera.email`` jobs in it: a write that rolls back (or a dry run) notifies nobody. Users
without an e-mail address get the in-app notification only.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from tessera import notifications
from tessera.expressions import FormulaType

from .people import PERSON_SCHEMA, check_person, resolve_people, user_of
from .steps import FlowStepType

CHANNELS = ("in_app", "email")
LOCALES = ("en", "zh-CN")
_TEXT = {"oneOf": [{"type": "string"}, {"type": "object", "minProperties": 1, "additionalProperties": False,
                                         "properties": {locale: {"type": "string"} for locale in LOCALES}}]}

SCHEMA = {
    "type": "object", "required": ["title"], "additionalProperties": False,
    "properties": {
        "to": {"type": "array", "items": PERSON_SCHEMA},
        "title": _TEXT,
        "body": _TEXT,
        "channels": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": list(CHANNELS)}},
        "email_fields": {"type": "array", "items": {"type": "string"}},
    },
}


def _texts(compiler: Any, raw: Any, key: str) -> dict[str, Any]:
    if raw is None:
        return {}
    sources = {"en": raw} if isinstance(raw, str) else dict(raw)
    return {locale: compiler.formula(source, expected=FormulaType.TEXT, key=f"{key}.{locale}")
            for locale, source in sources.items()}


def _prepare(compiler: Any, props: Mapping[str, Any]) -> Any:
    people = tuple(check_person(compiler, spec, at=f"to[{index}]") for index, spec in enumerate(props.get("to") or ()))
    obj = compiler.object_def()
    email_fields = tuple(props.get("email_fields") or ())
    for name in email_fields:
        field = obj.fields.get(name)
        if field is None or field.type not in ("email", "text"):
            raise compiler.fail(f"{obj.name}.{name} is not an e-mail or text field", at="email_fields")
    channels = tuple(props.get("channels") or ("in_app",))
    if not people and not email_fields:
        raise compiler.fail("name who to notify: 'to' (people) or 'email_fields'", at="to")
    if email_fields and "email" not in channels:
        raise compiler.fail("'email_fields' needs the email channel", at="email_fields")
    return {"people": people, "title": _texts(compiler, props["title"], "title"),
            "body": _texts(compiler, props.get("body"), "body"), "channels": channels, "email_fields": email_fields}


def _in(texts: Mapping[str, str], locale: str | None) -> str:
    if locale in texts:
        return texts[locale]
    return texts.get("en") or next(iter(texts.values()), "")


def _run(run: Any, prepared: Mapping[str, Any]) -> Mapping[str, Any]:
    service = run.engine.service
    record = run.record
    users: set[int] = set()
    for spec in prepared["people"]:
        users |= resolve_people(service, spec, record)
    titles = {locale: str(run.evaluate(f) or "").strip() for locale, f in prepared["title"].items()}
    bodies = {locale: str(run.evaluate(f) or "").strip() for locale, f in prepared["body"].items()}
    if not any(titles.values()):
        titles = {"en": run.flow.label("en") or run.flow.name}
    channels = prepared["channels"]
    record_id = record.get("id")
    notified = 0
    mails: list[tuple[str, str, str]] = []  # (address, subject, body)
    for user_id in sorted(users):
        user = user_of(service, user_id)
        if user is not None and not user.active:
            continue
        locale = user.locale if user is not None else None
        title, body = _in(titles, locale), _in(bodies, locale) if bodies else ""
        if "in_app" in channels:
            notifications.send(run.work, [user_id], title, body or None, object=run.object,
                               record_id=record_id, source=run.flow.name)
            notified += 1
        if "email" in channels and user is not None and user.email:
            mails.append((user.email, title, body))
    for name in prepared["email_fields"]:
        address = str(record.get(name) or "").strip()
        if address:
            mails.append((address, _in(titles, "en"), _in(bodies, "en") if bodies else ""))
    for address, subject, body in mails:
        run.enqueue("tessera.email", {"to": [address], "subject": subject, "body": body or subject},
                    key=f"notify:{run.flow.name}:{run.object}:{record_id}:{uuid.uuid4().hex}")
    if not notified and not mails:
        run.note(f"notify {_in(titles, 'en')!r}: nobody to notify for {run.object} {record_id}")
    else:
        verb = "would notify" if run.dry_run else "notified"
        run.note(f"{verb} {notified} user(s) in the app and queued {len(mails)} e-mail(s): {_in(titles, 'en')!r}")
    return {"notified": notified, "emails": len(mails)}


NOTIFY_STEP = FlowStepType(
    "notify", {"en": "Send a notification", "zh-CN": "发送通知"}, _run, SCHEMA,
    "Notify people about the record in the app (the bell) and, with the email channel, by e-mail.", _prepare)
