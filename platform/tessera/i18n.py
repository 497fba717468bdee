"""Locales: metadata labels use BCP 47 tags (``zh-CN``); Babel uses ``zh_CN``. One mapping.

UI strings are translated by Flask-Babel inside requests; :func:`translate` serves code that
runs anywhere (the record service in a job or a command) from the same catalogues. Code that
finds a problem before anyone knows who will read it (a query's parameters, checked for the
API, a list screen and a deployment alike) says it with :func:`said`, and whoever shows it
says it in the reader's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.support import Translations
from flask import current_app, request
from flask_babel import Babel, get_locale

#: the locales Tessera ships every label and UI string in
LOCALES = ("en", "zh-CN")
TRANSLATIONS_DIR = Path(__file__).parent / "translations"


def select_locale() -> str:
    """Babel's locale for this request: ?lang= (remembered in the session, so the pages and
    htmx fragments that follow keep the language switched to), then the signed-in user's
    language, then the browser's preference, then English."""
    from flask import session

    languages = current_app.config["LANGUAGES"]
    asked = request.args.get("lang")
    chosen = asked if asked in languages else None
    if chosen is not None:
        if session.get("lang") != chosen:
            session["lang"] = chosen
    elif session.get("lang") in languages:
        chosen = session["lang"]
    if chosen is None:
        from tessera.security.web import current_actor

        actor = current_actor()
        chosen = actor.locale if actor is not None and actor.locale in languages else None
    chosen = chosen or request.accept_languages.best_match(languages)
    return (chosen or languages[0]).replace("-", "_")


def current_locale() -> str:
    """The request's locale as a metadata tag (``en`` or ``zh-CN``)."""
    locale = get_locale()
    if locale is None:
        return LOCALES[0]
    tag = locale.language if not locale.territory else f"{locale.language}-{locale.territory}"
    return tag if tag in LOCALES else locale.language if locale.language in LOCALES else LOCALES[0]


@cache
def _translations(locale: str) -> Translations:
    return Translations.load(str(TRANSLATIONS_DIR), [Locale.parse(locale, sep="-")])


def translate(message: str, locale: str = "en", **params: object) -> str:
    """``message`` in ``locale`` with ``params`` filled in, inside a request or not."""
    text = message if locale == "en" else _translations(locale).gettext(message)
    return text % params if params else text


def init_app(app) -> None:
    Babel(app, locale_selector=select_locale)
    app.context_processor(lambda: {"locale": current_locale()})


@dataclass(frozen=True, slots=True)
class Said:
    """A message of the catalogues with its parameters, to be said in the reader's language
    (:meth:`text`); ``str()`` says it in English. A parameter may itself be :class:`Said` or a
    bilingual label: it is said in the same language."""

    message: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def text(self, locale: str = "en") -> str:
        return translate(self.message, locale, **{name: in_locale(value, locale) for name, value in self.params.items()})

    def __str__(self) -> str:
        return self.text("en")


def said(message: str, **params: Any) -> Said:
    """``message`` (extracted into the catalogues) with ``params``, said later in any language."""
    return Said(message, params)


def in_locale(value: Any, locale: str) -> Any:
    """``value`` as said in ``locale``: :class:`Said` and labels (called with the locale) are
    translated, lists of them joined with "; "; anything else is as it is."""
    if isinstance(value, Said):
        return value.text(locale)
    if isinstance(value, list | tuple):
        return "; ".join(str(in_locale(item, locale)) for item in value)
    if callable(value) and isinstance(getattr(value, "values", None), Mapping):  # a metadata Label
        return value(locale)
    return value
