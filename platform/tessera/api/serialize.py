"""JSON in and out of the API.

Out (orjson): money and decimals as **strings** (``"1250.50"``, exact, never a binary float),
dates ``2026-01-31``, date-times ISO 8601 with their offset (UTC, ``+00:00``), multi-select
picklists as lists, JSON fields as they are. In (the standard library, so that numbers with a
fraction become ``Decimal`` and nothing is rounded on the way in): a JSON object, or a 400.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import orjson
from flask import Response, request

from .messages import say
from .problems import ApiProblem

_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_NON_STR_KEYS


def json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(data: Any) -> bytes:
    return orjson.dumps(data, default=json_default, option=_OPTIONS)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(dumps(data), status=status, mimetype="application/json")
    if headers:
        response.headers.update(headers)
    return response


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def read_json(locale: str, *, optional: bool = False) -> Any:
    """The request body as data: numbers with a fraction as Decimal. 400 for a body that is
    not JSON or not an object; an empty body is ``{}`` when ``optional``."""
    raw = request.get_data(cache=False)  # 413 beyond the body limit
    if not raw.strip():
        if optional:
            return {}
        raise ApiProblem("bad-request", say("not_an_object", locale))
    try:
        data = json.loads(raw, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        reason = f"{exc.msg} (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise ApiProblem("bad-request", say("bad_json", locale, reason=reason)) from None
    if not isinstance(data, dict):
        raise ApiProblem("bad-request", say("not_an_object", locale))
    return data
