"""Form widgets: which input each field type gets, the text an input shows for a value, and the
value an input posts back — one place per type, for forms and line grids alike.

An input posts text; turning that text into the field's type (exact decimals, dates, option
checks, ids) is the record service's input conversion (:mod:`tessera.records.inputs`), which
the form hands the text to. Only what a browser input cannot say itself is done here: a
``datetime-local`` input has no time zone (the user's is added), a checkbox sends nothing when
unchecked (a hidden ``false`` goes first), a JSON field arrives as text, and a multi-select
sends one value per ticked option.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from tessera.metadata.model import FieldDef
from tessera.records.preview import FieldState
from tessera.web.display import Ref, format_value

#: widget template (ui/templates/widgets/<kind>.html) by field type
KINDS = {
    "text": "text", "email": "text", "phone": "text", "url": "text",
    "textarea": "textarea", "json": "json",
    "integer": "number", "decimal": "number", "percent": "percent", "currency": "money",
    "date": "date", "datetime": "datetime", "boolean": "boolean",
    "picklist": "picklist", "multi_picklist": "multi_picklist",
    "lookup": "lookup", "master_detail": "lookup",
}
#: the HTML input type of text-like fields (the browser's keyboard and autofill follow it)
INPUT_TYPES = {"email": "email", "phone": "tel", "url": "url"}
#: numbers are typed as text so that what was typed survives a failed save ("1,250.50", "abc")
INPUT_MODES = {"integer": "numeric", "decimal": "decimal", "percent": "decimal", "currency": "decimal"}


class BadInput(ValueError):
    """Text an input posted that cannot even be handed to the record service (broken JSON)."""


@dataclass
class Widget:
    """One field on a form: what its template needs."""

    field: FieldDef
    name: str                  # the input's name: "company", "lines-e17-quantity"
    id: str                    # the element id: "f-company"
    kind: str                  # widget template name; "output" for computed, "disabled" for read-only
    label: str
    state: FieldState
    value: Any = ""            # the input's text (a list for multi-selects, a bool for checkboxes)
    display: Markup | str = ""  # the value as people read it (read-only widgets)
    help: str | None = None
    errors: list[str] = field(default_factory=list)
    options: list[tuple[str, str]] = field(default_factory=list)
    lookup_label: str = ""
    lookup_url: str = ""
    currency: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    compact: bool = False      # a line grid's cell: the column header is the visible label

    @property
    def described_by(self) -> str:
        ids = [f"{self.id}-help"] if self.help else []
        if self.errors:
            ids.append(f"{self.id}-error")
        if self.currency is not None:
            ids.append(f"{self.id}-currency")
        return " ".join(ids)

    @property
    def editable(self) -> bool:
        return self.kind not in ("output", "disabled")


def dom_id(name: str) -> str:
    return f"f-{name}"


def widget_kind(field: FieldDef, state: FieldState) -> str:
    if field.computed or field.system:
        return "output"
    if state.read_only:
        return "disabled"
    return KINDS.get(field.type, "text")


def input_text(field: FieldDef, value: Any, tz: dt.tzinfo) -> Any:
    """The text an input shows for a stored (or previewed) value."""
    if value is None:
        return {"multi_picklist": [], "boolean": False}.get(field.type, "")
    kind = field.type
    if kind == "multi_picklist":
        return list(value) if isinstance(value, list | tuple) else [str(value)]
    if kind == "boolean":
        return bool(value)
    if isinstance(value, Ref):
        return str(value.id)
    if kind in ("decimal", "currency", "percent") and isinstance(value, Decimal):
        return decimal_text(value, keep=2 if kind == "currency" else 0)
    if kind == "datetime" and isinstance(value, dt.datetime):
        local = value.astimezone(tz)
        return local.strftime("%Y-%m-%dT%H:%M:%S" if local.second else "%Y-%m-%dT%H:%M")
    if kind == "date" and isinstance(value, dt.date):
        return value.isoformat()
    if kind == "json":
        return json.dumps(value, ensure_ascii=False, indent=2, default=str)
    return str(value)


def decimal_text(value: Decimal, keep: int = 0) -> str:
    """A decimal as plain text without trailing zeros, with at least ``keep`` decimals
    (1.5000 -> 1.5; money: 100 -> 100.00)."""
    whole, _dot, fraction = format(value, "f").partition(".")
    fraction = fraction.rstrip("0").ljust(keep, "0")
    return f"{whole}.{fraction}" if fraction else whole


def posted_text(field: FieldDef, form: MultiDict, name: str) -> Any:
    """What the input ``name`` of ``field`` posted, as the widget shows it again (None when the
    form did not carry the input)."""
    if name not in form:
        return None
    if field.type == "multi_picklist":
        return [v for v in form.getlist(name) if v != ""]
    if field.type == "boolean":
        return form.getlist(name)[-1] in ("true", "on", "1")  # a ticked box follows its hidden "false"
    return form.get(name, "")


def service_value(field: FieldDef, text: Any, tz: dt.tzinfo) -> Any:
    """Posted text as the record service's input takes it. Raises BadInput for broken JSON."""
    if field.type == "datetime" and isinstance(text, str) and text.strip():
        try:
            moment = dt.datetime.fromisoformat(text.strip())
        except ValueError:
            return text  # the service says what a date and time looks like
        return (moment if moment.tzinfo else moment.replace(tzinfo=tz)).isoformat()
    if field.type == "json" and isinstance(text, str):
        if not text.strip():
            return None
        try:
            return json.loads(text)
        except ValueError:
            raise BadInput(field.name) from None
    if field.type == "multi_picklist":
        return list(text) or None
    return text


def is_blank(text: Any) -> bool:
    return text is None or text == "" or text == [] or text is False


def choices(field: FieldDef, current: Any, locale: str) -> list[tuple[str, str]]:
    """A picklist's options: the active ones, and inactive ones only where already chosen."""
    chosen = set(current) if isinstance(current, list | tuple) else {current}
    return [(o.value, o.label(locale)) for o in field.options if o.active or o.value in chosen]


def build(field: FieldDef, *, name: str, state: FieldState, locale: str, tz: dt.tzinfo,
          value: Any, text: Any = None, record: Mapping[str, Any] | None = None,
          errors: Sequence[str] = (), lookup_labels: Mapping[tuple[str, int], str] | None = None,
          lookup_url: str = "", compact: bool = False) -> Widget:
    """The widget of ``field``: ``value`` is the record's (or preview's) value, ``text`` what the
    user posted (shown instead when given, so nothing typed is lost)."""
    kind = widget_kind(field, state)
    shown = text if text is not None else input_text(field, value, tz)
    widget = Widget(field=field, name=name, id=dom_id(name), kind=kind, label=field.label(locale), state=state,
                    value=shown, help=field.help(locale) if field.help and not compact else None,
                    errors=list(errors), compact=compact)
    if kind in ("output", "disabled"):
        widget.display = format_value(field, _display_ref(field, value, lookup_labels), locale,
                                      record=record, tz=tz)
        return widget
    if field.type in ("picklist", "multi_picklist"):
        widget.options = choices(field, shown, locale)
    elif field.type in ("lookup", "master_detail"):
        widget.lookup_url = lookup_url
        widget.lookup_label = _lookup_label(field, shown, lookup_labels)
    elif field.type == "currency" and field.currency_field and record is not None:
        widget.currency = record.get(field.currency_field)
    widget.attrs = _attrs(field, state)
    return widget


def _attrs(field: FieldDef, state: FieldState) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    if field.type in INPUT_TYPES:
        attrs["type"] = INPUT_TYPES[field.type]
    if field.type in INPUT_MODES:
        attrs["inputmode"] = INPUT_MODES[field.type]
    if field.max_length and field.type in ("text", "textarea", "email", "phone", "url"):
        attrs["maxlength"] = field.max_length
    if field.type == "email":
        attrs["autocomplete"] = "email"
    elif field.type == "phone":
        attrs["autocomplete"] = "tel"
    if state.required:
        attrs["aria-required"] = "true"
    return attrs


def _display_ref(field: FieldDef, value: Any, labels: Mapping[tuple[str, int], str] | None) -> Any:
    if field.target and value not in (None, "") and not isinstance(value, Ref):
        try:
            ident = int(value)
        except (TypeError, ValueError):
            return value
        return Ref(ident, (labels or {}).get((field.target, ident)), field.target)
    return value


def _lookup_label(field: FieldDef, shown: Any, labels: Mapping[tuple[str, int], str] | None) -> str:
    try:
        ident = int(shown)
    except (TypeError, ValueError):
        return ""
    return (labels or {}).get((field.target or "", ident)) or f"#{ident}"
