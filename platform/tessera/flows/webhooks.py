"""The ``webhook`` flow step: tell another system about a record with a signed HTTP POST.

The step evaluates its payload while the flow runs (the values as of the write) and queues the
job ``tessera.webhook`` in the flow's transaction, keyed once per record version: nothing is
sent for a write that rolls back, nor by a dry run. After the commit the job POSTs the JSON
body signed with HMAC-SHA256; a connection error, a timeout or an answer other than 2xx fails
the attempt, and the job system retries it with exponential back-off under the same delivery
id. The HMAC key is read, when the job runs, from the environment variable the step names:
metadata holds the variable's name, never the secret. See docs/flows.md#webhooks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import math
import os
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import orjson

from tessera.expressions import CompiledExpression
from tessera.hookspecs import hookimpl
from tessera.jobs.types import MAX_KEY, JobContext, JobType

from .steps import FlowStepType, StepError

#: the job that sends a webhook
WEBHOOK_JOB = "tessera.webhook"
USER_AGENT = "Tessera-Webhook/1"
#: the secret's environment variable: the prefix keeps metadata, which org admins edit, from
#: pointing at the server's other secrets (database passwords, TESSERA_SECRET_KEY)
SECRET_NAME = re.compile(r"^WEBHOOK_[A-Z0-9_]+$")
EVENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an HTTP token (RFC 9110)
HEADER_VALUE = re.compile(r"^[\x20-\x7e]*$")  # printable ASCII: no line breaks to smuggle headers
#: headers Tessera sets itself (and every ``X-Tessera-*``): a step's ``headers`` may not replace them
RESERVED_HEADERS = frozenset({"content-type", "content-length", "host", "user-agent"})
RESERVED_PREFIX = "x-tessera-"
#: how many characters of a refusing receiver's answer the job log keeps
ERROR_EXCERPT = 200


class WebhookError(Exception):
    """A delivery did not succeed (the attempt fails and the job system retries it); the message
    names the URL and what went wrong, never the secret."""


@dataclass(frozen=True)
class Webhook:
    """A webhook step as compiled: ``payload`` None means the record's stored fields."""

    url: str
    secret: str
    event: str
    headers: Mapping[str, str]
    payload: Mapping[str, CompiledExpression] | None
    where: str


# ------------------------------------------------------------------------------ the step

def _prepare(compiler: Any, props: Mapping[str, Any]) -> Webhook:
    doc = compiler.registry.flows.get(compiler.flow)
    if doc is not None and (doc.data.get("trigger") or {}).get("timing") == "before_save":
        raise compiler.fail("a webhook needs the saved record (its id and new version): use it in an "
                            "after_save flow")
    url = str(props["url"]).strip()
    problem = url_problem(url)
    if problem:
        raise compiler.fail(f"url: {problem}", at="url")
    secret = props["secret"]
    if not SECRET_NAME.match(secret):
        raise compiler.fail(f"secret: '{secret}' is not the name of an environment variable starting with "
                            "WEBHOOK_ (such as WEBHOOK_ERP_SECRET); name the variable that holds the "
                            "secret, never the secret itself", at="secret")
    event = props.get("event", compiler.flow)
    if not EVENT_NAME.match(event):
        where = "event" if "event" in props else ""
        raise compiler.fail(f"event: '{event}' must be letters, digits and _.:- (at most 100); "
                            f"{'name the event' if where else 'give the step an event'}", at=where)
    headers = _headers(compiler, props.get("headers") or {})
    payload = None
    if "payload" in props:
        payload = {key: compiler.formula(source, key=f"payload.{key}") for key, source in props["payload"].items()}
    return Webhook(url, secret, event, headers, payload, compiler.where)


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a webhook's address, or None: absolute http or https with a host,
    no user name or password (the signature authenticates Tessera) and no fragment."""
    try:
        parts = urlsplit(url)
        _port = parts.port  # raises ValueError on a port that is not a number in range
    except ValueError as exc:
        return f"'{url}' is not a URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"'{url}' is not an http:// or https:// URL with a host"
    if parts.username is not None or parts.password is not None:
        return f"'{url}' carries a user name or password; the signature is how the receiver knows Tessera"
    if parts.fragment or not HEADER_VALUE.match(url) or " " in url:
        return f"'{url}' has a fragment, spaces or characters that must be percent-encoded"
    return None


def _headers(compiler: Any, headers: Mapping[str, str]) -> dict[str, str]:
    seen: set[str] = set()
    for name, value in headers.items():
        lower = name.lower()
        if not HEADER_NAME.match(name):
            raise compiler.fail(f"headers: '{name}' is not a header name", at=f"headers.{name}")
        if lower in RESERVED_HEADERS or lower.startswith(RESERVED_PREFIX):
            raise compiler.fail(f"headers: {name} is set by Tessera (Content-Type, User-Agent and the "
                                "X-Tessera-* signature headers cannot be replaced)", at=f"headers.{name}")
        if lower in seen:
            raise compiler.fail(f"headers: {name} is given twice", at=f"headers.{name}")
        if not HEADER_VALUE.match(value):
            raise compiler.fail(f"headers: the value of {name} must be printable ASCII on one line",
                                at=f"headers.{name}")
        seen.add(lower)
    return dict(headers)


def _run(run: Any, hook: Webhook) -> Mapping[str, Any]:
    record_id, version = run.record.get("id"), run.record.get("version")
    if record_id is None or version is None:
        raise StepError(f"a webhook needs a saved {run.object} record")
    if hook.payload is None:
        columns = run.engine.service.runtime(run.object).columns
        data = {name: run.record.get(name) for name in columns}
    else:
        data = {key: run.evaluate(formula) for key, formula in hook.payload.items()}
    body = {"event": hook.event, "object": run.object, "id": record_id, "version": version,
            "occurred_at": run.work.now, "data": data}
    key = delivery_key(run.flow.name, hook.where, run.object, record_id, version,
                       run.work.now if run.flow.kind == "schedule" else None)
    job = {"url": hook.url, "secret": hook.secret, "event": hook.event, "headers": dict(hook.headers),
           "body": plain(body)}
    if run.dry_run:  # rolled back: a job queued here could never be sent
        run.note(f"would call POST {hook.url} (event {hook.event}); dry run: nothing is sent")
        return {"delivery": key}
    if run.enqueue(WEBHOOK_JOB, job, key=key).created:
        run.note(f"queued POST {hook.url} (event {hook.event}, delivery {key}): sent once the write commits")
    else:
        run.note(f"POST {hook.url} (event {hook.event}) was already queued for this version (delivery {key}); "
                 "not sent again")
    return {"delivery": key}


def delivery_key(flow: str, where: str, object_name: str, record_id: Any, version: Any,
                 at: dt.datetime | None = None) -> str:
    """The job key, sent as ``X-Tessera-Delivery``: one delivery per flow step, record and
    version (and scheduled run: ``at``), the same on every retry. Too long or not ASCII, it is
    replaced by its SHA-256."""
    key = f"webhook:{flow}:{where}:{object_name}:{record_id}:v{version}"
    if at is not None:
        key += f":{at.astimezone(dt.UTC):%Y%m%dT%H%MZ}"
    if len(key) > MAX_KEY or not key.isascii():
        key = "webhook:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def plain(value: Any) -> Any:
    """``value`` as JSON data, in the REST API's representation: decimals as exact strings,
    dates and times in ISO 8601 (a naive time is UTC), sets and tuples as lists."""
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(item) for item in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# ------------------------------------------------------------------------------ the job

def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The ``X-Tessera-Signature`` value: ``sha256=`` and the hex HMAC-SHA256 of
    ``"{timestamp}.{body}"`` keyed with the secret."""
    return "sha256=" + hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def send_webhook(job: JobContext) -> dict[str, Any]:
    """POST one webhook (the job's payload says where and what), signed; raises WebhookError
    when it was not accepted, so the job is retried."""
    payload = job.payload
    url = payload["url"]
    secret = _secret(payload["secret"])
    body = orjson.dumps(payload["body"])
    timestamp = int(job.now.timestamp())
    headers = {**payload.get("headers", {}), "Content-Type": "application/json", "User-Agent": USER_AGENT,
               "X-Tessera-Event": payload["event"], "X-Tessera-Delivery": job.key,
               "X-Tessera-Timestamp": str(timestamp), "X-Tessera-Signature": sign(secret, timestamp, body)}
    return {"status": post(url, body, headers, timeout())}


def _secret(name: str) -> bytes:
    value = os.environ.get(name)
    if not value:
        raise WebhookError(f"the environment variable {name} that holds this webhook's secret is "
                           f"{'empty' if value == '' else 'not set'} where the job runs; set it for "
                           "`tessera serve` (no broker) or `tessera worker`")
    return value.encode()


def timeout() -> float:
    """Seconds to wait for a receiver: the app's WEBHOOK_TIMEOUT (TESSERA_WEBHOOK_TIMEOUT)."""
    from flask import current_app, has_app_context

    from tessera.config import DEFAULTS

    default = DEFAULTS["WEBHOOK_TIMEOUT"]
    raw = current_app.config.get("WEBHOOK_TIMEOUT", default) if has_app_context() else default
    try:
        seconds = float(str(raw).strip())
    except ValueError:
        seconds = math.nan
    if isinstance(raw, bool) or not math.isfinite(seconds) or seconds <= 0:
        raise WebhookError(f"TESSERA_WEBHOOK_TIMEOUT must be a number of seconds above 0, not {raw!r}")
    return seconds


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer other than 2xx: the body is never re-sent elsewhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def post(url: str, body: bytes, headers: Mapping[str, str], seconds: float) -> int:
    """POST ``body``; the status of a 2xx answer. Anything else raises WebhookError with the
    status and the start of the answer, or what kept the request from being answered."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with _OPENER.open(request, timeout=seconds) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        excerpt = _excerpt(exc)
        raise WebhookError(f"POST {url} answered {exc.code}{': ' + excerpt if excerpt else ''}") from None
    except TimeoutError:
        raise WebhookError(f"POST {url}: no answer within {seconds:g} s") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise WebhookError(f"POST {url}: no answer within {seconds:g} s") from None
        raise WebhookError(f"POST {url} failed: {exc.reason}") from None
    except (http.client.HTTPException, OSError) as exc:
        raise WebhookError(f"POST {url} failed: {type(exc).__name__}: {exc}") from None


def _excerpt(answer: urllib.error.HTTPError) -> str:
    """The first characters of a refusing answer's body, on one line."""
    try:
        raw = answer.read(ERROR_EXCERPT * 4)
    except (http.client.HTTPException, OSError):
        return ""
    finally:
        answer.close()
    text = " ".join(raw.decode("utf-8", "replace").split())
    return text[:ERROR_EXCERPT]


# ------------------------------------------------------------------------------ registration

_FORMULA = {"type": ["string", "number", "boolean"]}

WEBHOOK_STEP = FlowStepType(
    "webhook", {"en": "Call a webhook", "zh-CN": "调用 Webhook"}, _run,
    {"type": "object", "required": ["url", "secret"], "additionalProperties": False,
     "properties": {"url": {"type": "string"}, "secret": {"type": "string"}, "event": {"type": "string"},
                    "payload": {"type": "object", "minProperties": 1, "additionalProperties": _FORMULA},
                    "headers": {"type": "object", "additionalProperties": {"type": "string"}}}},
    "POST the record (or a payload of formulas) to a URL once the write commits, signed with HMAC-SHA256 "
    "and retried with back-off.", _prepare)

WEBHOOK_JOB_TYPE = JobType(
    WEBHOOK_JOB, send_webhook, label={"en": "Call a webhook", "zh-CN": "调用 Webhook"}, transactional=False,
    description="POST a flow's webhook, signed with HMAC-SHA256; retried until the receiver answers 2xx.")


@hookimpl
def tessera_register_job_types() -> list[JobType]:
    return [WEBHOOK_JOB_TYPE]
