"""Who is calling, in which org, in which language, and what the query string asks for."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from functools import cached_property
from flask import current_app, g, has_request_context, request

from tessera.i18n import LOCALES
from tessera.metadata.filters import true_or_false, whole_number_between, whole_number_from
from tessera.metadata.model import ObjectDef
from tessera.metadata.registry import Registry
from tessera.records.service import Actor, RecordService
from tessera.security.permissions import Access

from .messages import say
from .problems import ApiProblem


@dataclass
class Caller:
    """The authenticated caller of one request: their org's record service and their access."""

    actor: Actor
    service: RecordService

    @property
    def registry(self) -> Registry:
        return self.service.registry

    @property
    def locale(self) -> str:
        return self.actor.locale if self.actor.locale in LOCALES else request_locale()

    @cached_property
    def access(self) -> Access:
        return self.service.policy.access(self.actor)

    def object(self, name: str) -> ObjectDef:
        """The object ``name`` of the caller's org; 404 when there is none."""
        obj = self.registry.objects.get(name)
        if obj is None:
            raise ApiProblem("not-found", say("unknown_object", self.locale, object=name))
        return obj


def caller() -> Caller:
    return g.api_caller


def set_caller(actor: Actor) -> Caller:
    from tessera.app import ORGS_KEY

    service = current_app.extensions[ORGS_KEY].for_actor(actor)
    g.api_caller = Caller(actor, service)
    return g.api_caller


def request_locale() -> str:
    """The caller's locale before we know who they are: Accept-Language, else English."""
    if not has_request_context():
        return LOCALES[0]
    return request.accept_languages.best_match(LOCALES) or LOCALES[0]


def current_locale() -> str:
    found = g.get("api_caller") if has_request_context() else None
    return found.locale if found is not None else request_locale()


# ------------------------------------------------------------------------------ query strings

def refuse_unknown_parameters(known: Collection[str], locale: str) -> None:
    """400 naming every query parameter the endpoint does not take."""
    unknown = sorted({name for name in request.args if name not in known})
    if unknown:
        raise ApiProblem("bad-request", say("bad_parameters", locale, names=", ".join(unknown)),
                         errors={name: [say("unknown_parameter", locale, name=name)] for name in unknown})


def whole_number(name: str, low: int, high: int | None, errors: dict[str, list[str]],
                 default: int | None = None) -> int | None:
    """A whole-number query parameter within [low, high]; problems go to ``errors``."""
    text = request.args.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text.strip())
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        shown = f"'{text}'"
        message = whole_number_between(low, high, shown) if high is not None else whole_number_from(low, shown)
        errors.setdefault(name, []).append(message.text(_locale()))
        return default
    return value


def flag(name: str, errors: dict[str, list[str]], default: bool) -> bool:
    text = request.args.get(name)
    if text is None or text == "":
        return default
    word = text.strip().lower()
    if word in ("true", "1", "yes"):
        return True
    if word in ("false", "0", "no"):
        return False
    errors.setdefault(name, []).append(true_or_false(f"'{text}'").text(_locale()))
    return default


def _locale() -> str:
    """The caller's language, or the request's before anyone is known."""
    return g.api_caller.locale if "api_caller" in g else request_locale()


def names(name: str) -> list[str]:
    """A comma-separated list parameter (``fields``, ``sort``, ``expand``), repeated or not."""
    found: list[str] = []
    for value in request.args.getlist(name):
        found.extend(part.strip() for part in value.split(",") if part.strip())
    return found

