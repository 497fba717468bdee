"""Field values as people read them: every field type, in the reader's locale, always escaped.

::

    from tessera.web.display import Ref, format_value

    format_value(field, Decimal("1234.5"), "zh-CN", record=record)  # '1,234.50' ('CNY 1,234.50' with a code)
    format_value(field, dt.datetime(...), "en", tz=ZoneInfo("Asia/Shanghai"))
    format_value(lookup_field, Ref(42, "Acme", "account"), "en")    # <a href="/o/account/42">Acme</a>

``format_value(field, value, locale, *, record=None, tz=None) -> Markup | str`` is the stable
entry point (templates: ``{{ value|format_value(field, record=record) }}``, locale and time zone
from the request). The result is safe to put into HTML: text is escaped, links are built from
escaped parts, and only ``http(s)``/``mailto``/``tel`` links are ever made (a ``javascript:``
URL stays text).

What callers pass:

* **lookups and master-detail**: a :class:`Ref` (id and display name, linked to
  ``/o/{target}/{id}``), or a bare id (shown as ``#id``, linked). :func:`lookup_paths` names the
  query paths that fetch the names in the same statement as the rows.
* **owner_id, created_by, updated_by**: a :class:`Ref` with the user's name (``object`` None),
  or a bare id; :func:`user_refs` turns ids into names for a whole page.
* **currency**: ``record`` supplies the ISO code from the field's ``currency_field``; without
  one the amount is shown at the field's scale without a code.
* **date-times** are shown in ``tz`` (default: the signed-in user's time zone, else UTC).

Blank values (None, "", []) are shown as "" so that templates decide how blank looks.
Formatting work that depends only on the field and the locale is prepared once per (field,
locale, time zone) and cached, so a page of rows costs a dictionary lookup per cell.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import parse_pattern as parse_date_pattern
from babel.numbers import parse_pattern as parse_number_pattern
from markupsafe import Markup, escape

from tessera.i18n import translate
from tessera.metadata.model import FieldDef

#: system fields that hold a user's id
USER_FIELDS = frozenset({"owner_id", "created_by", "updated_by"})
#: types shown as numbers, and the result types of formulas
_NUMBER_TYPES = frozenset({"integer", "decimal", "currency", "percent"})
SAFE_COLOR = re.compile(r"^#[0-9a-fA-F]{3,8}$")
_PHONE_CHARS = re.compile(r"[^0-9+]")


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference to a record (``object`` set) or a user (``object`` None) with its display name."""

    id: int
    name: str | None
    object: str | None = None

    @property
    def url(self) -> str | None:
        return f"/o/{self.object}/{self.id}" if self.object else None


Formatter = Callable[[Any, Mapping[str, Any] | None], "Markup | str"]


def format_value(field: FieldDef, value: Any, locale: str, *, record: Mapping[str, Any] | None = None,
                 tz: dt.tzinfo | None = None) -> Markup | str:
    """``value`` of ``field`` for a reader in ``locale`` (``en``, ``zh-CN``), escaped."""
    if value is None or value == "" or value == []:
        return ""
    return formatter(field, locale, tz or current_timezone())(value, record)


#: prepared formatters by (id(field), locale, time zone); field definitions are frozen and
#: unhashable (they hold mappings), so they are keyed by identity and kept alive with the entry
_PREPARED: dict[tuple[int, str, dt.tzinfo], tuple[FieldDef, Formatter]] = {}


def formatter(field: FieldDef, locale: str, tz: dt.tzinfo = dt.UTC) -> Formatter:
    """The prepared formatter of ``field`` (for loops over many rows: call it per value with the
    row as second argument; it does not check for blanks, :func:`format_value` does)."""
    key = (id(field), locale, tz)
    found = _PREPARED.get(key)
    if found is not None and found[0] is field:
        return found[1]
    if len(_PREPARED) > 8192:  # registries were rebuilt many times: start afresh
        _PREPARED.clear()
    prepared = _prepare(field, locale, tz)
    _PREPARED[key] = (field, prepared)
    return prepared


def _prepare(field: FieldDef, locale: str, tz: dt.tzinfo) -> Formatter:
    babel_locale = _babel_locale(locale)
    kind = _kind(field)
    if field.name in USER_FIELDS and field.system:
        return _reference(None, locale)
    if kind in ("lookup", "master_detail"):
        return _reference(field.target, locale)
    if kind == "id":
        return lambda value, _r: str(value)
    if kind in _NUMBER_TYPES:
        return _number(field, kind, babel_locale)
    if kind == "boolean":
        yes, no = translate("Yes", locale), translate("No", locale)
        return lambda value, _r: yes if value else no
    if kind == "date":  # a page repeats dates: each is formatted once
        date_pattern = parse_date_pattern(babel_locale.date_formats["medium"].pattern)
        return _remembering(lambda value: date_pattern.apply(_as_date(value), babel_locale))
    if kind == "datetime":
        return _datetime(babel_locale, tz)
    if kind in ("picklist", "multi_picklist"):
        return _choice(field, locale)
    if kind == "email":
        return lambda value, _r: Markup('<a href="mailto:{0}">{0}</a>').format(value)
    if kind == "phone":
        return lambda value, _r: Markup('<a href="tel:{0}">{1}</a>').format(_PHONE_CHARS.sub("", str(value)), value)
    if kind == "url":
        return _url
    if kind == "json":
        return lambda value, _r: Markup("<code>{0}</code>").format(json.dumps(value, ensure_ascii=False, default=str))
    return lambda value, _r: escape(str(value))


def _remembering(show: Callable[[Any], str], size: int = 512) -> Formatter:
    """``show`` with its answers kept for the values seen most recently."""
    seen: dict[Any, str] = {}

    def remembered(value: Any, _record: Mapping[str, Any] | None) -> str:
        found = seen.get(value)
        if found is None:
            if len(seen) >= size:
                seen.clear()
            found = seen[value] = show(value)
        return found

    return remembered


def _kind(field: FieldDef) -> str:
    """The type a value is shown as: formulas by their result, roll-ups by what they sum."""
    if field.type == "formula":
        return field.result or "text"
    if field.type == "rollup":
        rollup = field.rollup
        if rollup is None or rollup.aggregate == "count":
            return "integer"
        child = _child_field(rollup.object, rollup.field)
        return child.type if child is not None and child.type in _NUMBER_TYPES | {"date", "datetime"} else "decimal"
    if field.system and field.name in ("id", "version"):
        return "id"
    return field.type


def _child_field(object_name: str, field_name: str | None) -> FieldDef | None:
    from flask import has_request_context

    if field_name is None or not has_request_context():
        return None
    from tessera.app import current_registry

    obj = current_registry().objects.get(object_name)
    return obj.fields.get(field_name) if obj is not None else None


def _datetime(babel_locale: Locale, tz: dt.tzinfo) -> Formatter:
    """Babel's medium date-time, its patterns parsed once (format_datetime parses them per call)."""
    date_pattern = parse_date_pattern(babel_locale.date_formats["medium"].pattern)
    time_pattern = parse_date_pattern(babel_locale.time_formats["medium"].pattern)
    combined = str(babel_locale.datetime_formats["medium"]).replace("'", "")

    def show(value: Any, _record: Mapping[str, Any] | None) -> str:
        moment = _as_datetime(value).astimezone(tz)
        return (combined.replace("{0}", time_pattern.apply(moment, babel_locale))
                .replace("{1}", date_pattern.apply(moment, babel_locale)))

    return show


def _number(field: FieldDef, kind: str, babel_locale: Locale) -> Formatter:
    scale = 0 if kind == "integer" else (field.scale if field.scale is not None else 2)
    pattern = parse_number_pattern("#,##0" + ("." + "0" * scale if scale else ""))
    if kind == "percent":  # stored as 15 for 15 %: the number, then the sign
        return lambda value, _r: pattern.apply(value, babel_locale) + "%"
    if kind != "currency":
        return lambda value, _r: pattern.apply(value, babel_locale)
    code_field = field.currency_field

    def money(value: Any, record: Mapping[str, Any] | None) -> Markup | str:
        amount = pattern.apply(value, babel_locale)
        code = record.get(code_field) if record is not None and code_field else None
        if not code:
            return amount
        return Markup('<span class="currency-code">{0}</span>\u00a0{1}').format(code, amount)

    return money


def _choice(field: FieldDef, locale: str) -> Formatter:
    labels = {option.value: option.label(locale) for option in field.options}
    colors = {option.value: option.color for option in field.options
              if option.color and SAFE_COLOR.match(option.color)}

    def chip(value: Any) -> Markup:
        label = labels.get(value, value)
        color = colors.get(value)
        if color:
            return Markup('<span class="option" style="--option-color: {0}">{1}</span>').format(color, label)
        return Markup('<span class="option">{0}</span>').format(label)

    chips = {option.value: chip(option.value) for option in field.options}  # the usual values, made once

    def one(value: Any) -> Markup:
        found = chips.get(value) if isinstance(value, str) else None
        return found if found is not None else chip(value)

    if _kind(field) == "multi_picklist":
        return lambda values, _r: Markup(" ").join(one(v) for v in (values if isinstance(values, list) else [values]))
    return lambda value, _r: one(value)


def _reference(target: str | None, locale: str) -> Formatter:
    return lambda value, _record: format_ref(value if isinstance(value, Ref) else Ref(int(value), None, target))


def format_ref(ref: Ref) -> Markup:
    """A record reference as a link to its page (a user's name as text); ``#id`` without a name."""
    name = ref.name if ref.name not in (None, "") else f"#{ref.id}"
    url = ref.url
    if url is None:
        return escape(name)
    return Markup('<a href="{0}">{1}</a>').format(url, name)


def _url(value: Any, _record: Mapping[str, Any] | None) -> Markup | str:
    text = str(value)
    if not text.lower().startswith(("http://", "https://")):
        return escape(text)
    return Markup('<a href="{0}" rel="noopener noreferrer" target="_blank">{0}</a>').format(text)


def _as_date(value: Any) -> dt.date:
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value.date() if isinstance(value, dt.datetime) else value


def _as_datetime(value: Any) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


@lru_cache(maxsize=16)
def _babel_locale(locale: str) -> Locale:
    return Locale.parse(locale, sep="-")


@lru_cache(maxsize=64)
def _zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return dt.UTC


def current_timezone() -> dt.tzinfo:
    """The signed-in user's time zone (UTC outside a request or for nobody)."""
    from flask import g, has_request_context

    if not has_request_context():
        return dt.UTC
    zone = g.get("_tessera_tz")
    if zone is None:
        from tessera.security.web import current_signed_in

        who = current_signed_in()
        zone = _zone(who.user.time_zone) if who is not None and who.user.time_zone else dt.UTC
        g._tessera_tz = zone
    return zone


# ------------------------------------------------------------------------------ references

def lookup_paths(obj: Any, registry: Any, names: Iterable[str], hidden: Mapping[str, frozenset[str]] | None = None
                 ) -> dict[str, str]:
    """For each lookup among ``names`` (fields of ``obj``), the query path of its target's
    display name (``account`` -> ``account.name``), when the target's name field is stored and
    visible; select these with the rows to show names without a query per row."""
    paths: dict[str, str] = {}
    for name in names:
        field = obj.fields.get(name)
        if field is None or not field.target or field.system:
            continue
        target = registry.objects.get(field.target)
        if target is None:
            continue
        name_field = target.fields.get(target.name_field)
        if name_field is None or not name_field.stored or name_field.name in (hidden or {}).get(target.name, ()):
            continue
        paths[name] = f"{name}.{target.name_field}"
    return paths


def org_users(org: str) -> list[Any]:
    """Every user of ``org``, active or not (read once per request)."""
    from flask import g, has_request_context

    cached = g.get("_tessera_users") if has_request_context() else None
    if cached is None:
        from tessera.security.web import platform_store

        cached = platform_store().users(org)
        if has_request_context():
            g._tessera_users = cached
    return cached


def user_refs(org: str) -> dict[int, Ref]:
    """Every user of ``org`` as a :class:`Ref` (their name) by id."""
    return {user.id: Ref(user.id, user.name or user.username) for user in org_users(org)}


def init_app(app: Any) -> None:
    """Register ``format_value`` as a Jinja filter (locale and time zone from the request)."""
    from tessera.i18n import current_locale

    def value_filter(value: Any, field: FieldDef, record: Mapping[str, Any] | None = None,
                     locale: str | None = None) -> Markup | str:
        return format_value(field, value, locale or current_locale(), record=record)

    app.add_template_filter(value_filter, "format_value")
