"""The webhook step: a signed POST once the write commits, retried through the job system."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import flask
import pytest

from tessera.flows.webhooks import WEBHOOK_JOB, WEBHOOK_JOB_TYPE, delivery_key
from tessera.jobs import Jobs, JobSettings
from tessera.metadata.errors import MetadataError
from tessera.records import ValidationFailed

SECRET = "s3cret-shared-with-the-erp"
START = dt.datetime(2026, 5, 4, 2, 0, tzinfo=dt.UTC)


# ------------------------------------------------------------------------------ a receiver

@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def data(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 that keeps every request and answers as planned
    (``plan(500, "down")``; then 200 once the plan is used up)."""

    url: str
    requests: list[Received] = field(default_factory=list)
    answers: list[tuple[int, str, dict[str, str]]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def plan(self, status: int, text: str = "", **headers: str) -> None:
        self.answers.append((status, text, headers))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            found = state["receiver"]
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            found.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            status, text, headers = found.answers.pop(0) if found.answers else (200, "ok", {})
            if status == 0:  # hang: answer nothing until the test lets go
                found.release.wait(10)
                return
            payload = text.encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state["receiver"] = found = Receiver(f"http://127.0.0.1:{server.server_address[1]}/hooks/erp?team=crm")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        found.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def verify(secret: bytes, headers: dict[str, str], body: bytes, now: int, tolerance: int = 300) -> bool:
    """What a receiver does (docs/flows.md#webhooks): recompute the signature, compare in
    constant time, refuse an old timestamp."""
    timestamp = headers["x-tessera-timestamp"]
    expected = "sha256=" + hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["x-tessera-signature"]) and abs(now - int(timestamp)) <= tolerance


# ------------------------------------------------------------------------------ an org with jobs

class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@dataclass
class Org:
    service: Any
    jobs: Jobs
    clock: Clock

    def jobs_logged(self) -> list[Any]:
        with self.service.db.read() as conn:
            return self.jobs.store(self.service).page(conn).rows


def flow(url: str, *, steps: str = "", events: str = "[create, update]", extra: str = "") -> str:
    webhook = steps or (f"  - type: webhook\n    url: '{url}'\n    secret: WEBHOOK_TEST_SECRET\n"
                        "    event: opportunity.changed\n    headers: {X-Source: crm}\n"
                        "    payload: {name: name, amount: amount, account: account.name, big: amount > 1000}\n")
    return (f"label: {{en: Tell the ERP, zh-CN: 通知 ERP}}\nobject: opportunity\n"
            f"trigger: {{type: record, events: {events}{extra}}}\nsteps:\n{webhook}")


@pytest.fixture
def org(crm, receiver, monkeypatch) -> Org:
    """The CRM with the flow ``erp`` posting to the receiver, and a job system without an app
    (no broker: each job runs right after its commit; retries when the test runs the sweep)."""
    monkeypatch.setenv("WEBHOOK_TEST_SECRET", SECRET)
    service = crm(erp=flow(receiver.url))
    clock = Clock()
    jobs = Jobs(JobSettings(max_attempts=3, backoff_seconds=10), job_types=[WEBHOOK_JOB_TYPE],
                records=lambda name: service, orgs=lambda: [service.org], clock=clock)
    service.flows.jobs = jobs
    return Org(service, jobs, clock)


# ------------------------------------------------------------------------------ delivery

def test_a_saved_record_is_posted_once_with_its_payload_and_a_signature_the_receiver_verifies(org, receiver):
    acme = org.service.create("account", {"name": "Acme"})
    deal = org.service.create("opportunity", {"name": "Deal", "account": acme["id"], "amount": Decimal("1250.50")})

    [request] = receiver.requests
    assert request.path == "/hooks/erp?team=crm"
    headers = request.headers
    assert headers["content-type"] == "application/json" and headers["user-agent"] == "Tessera-Webhook/1"
    assert headers["x-tessera-event"] == "opportunity.changed" and headers["x-source"] == "crm"
    assert headers["x-tessera-delivery"] == f"webhook:erp:steps[0]:opportunity:{deal['id']}:v1"
    assert headers["x-tessera-timestamp"] == str(int(START.timestamp()))
    assert verify(SECRET.encode(), headers, request.body, now=int(START.timestamp()))
    assert not verify(b"another secret", headers, request.body, now=int(START.timestamp()))
    body = request.data
    assert {k: body[k] for k in ("event", "object", "id", "version")} == {
        "event": "opportunity.changed", "object": "opportunity", "id": deal["id"], "version": 1}
    assert body["data"] == {"name": "Deal", "amount": "1250.50", "account": "Acme", "big": True}
    assert dt.datetime.fromisoformat(body["occurred_at"]).tzinfo is not None
    [job] = org.jobs_logged()
    assert (job.name, job.status, job.attempts, job.result) == (WEBHOOK_JOB, "done", 1, {"status": 200})
    assert SECRET not in json.dumps(job.payload)  # the job keeps the variable's name only


def test_the_default_payload_is_the_record_as_saved_and_each_version_is_sent_once(crm, receiver, monkeypatch):
    monkeypatch.setenv("WEBHOOK_TEST_SECRET", SECRET)
    plain = "  - {type: webhook, url: '%s', secret: WEBHOOK_TEST_SECRET}\n" % receiver.url
    service = crm(erp=flow(receiver.url, steps=plain))
    service.flows.jobs = Jobs(JobSettings(), job_types=[WEBHOOK_JOB_TYPE], records=lambda name: service,
                              orgs=lambda: [service.org])
    deal = service.create("opportunity", {"name": "Deal", "amount": Decimal("10"), "stage": "proposal"})
    service.update("opportunity", deal["id"], {"next_step": "Call"}, version=1)
    service.update("opportunity", deal["id"], {"next_step": "Call"}, version=2)  # no change, no version

    first, second = receiver.requests
    assert first.headers["x-tessera-event"] == "erp"  # the flow's name
    data = first.data["data"]
    assert data["id"] == deal["id"] and data["version"] == 1 and data["name"] == "Deal"
    assert data["amount"] == "10.00" and data["stage"] == "proposal" and data["next_step"] is None
    assert dt.datetime.fromisoformat(data["created_at"]) == dt.datetime.fromisoformat(first.data["occurred_at"])
    assert (second.data["version"], second.data["data"]["next_step"]) == (2, "Call")
    assert [r.headers["x-tessera-delivery"][-3:] for r in receiver.requests] == [":v1", ":v2"]


def test_a_write_that_is_rolled_back_sends_nothing(org, receiver):
    with pytest.raises(ValidationFailed), org.service.unit_of_work() as work:
        work.create("opportunity", {"name": "Kept only if the batch is"})  # the flow queues its webhook
        work.create("opportunity", {"amount": 5})  # refused: a name is required

    assert receiver.requests == [] and org.jobs_logged() == []


def test_a_refused_answer_is_retried_after_the_back_off_under_the_same_delivery_id(org, receiver):
    answer = "database is down " + "x" * 300
    receiver.plan(500, answer)
    deal = org.service.create("opportunity", {"name": "Deal"})

    [job] = org.jobs_logged()
    assert (job.status, job.attempts) == ("retrying", 1)
    assert job.last_error == f"WebhookError: POST {receiver.url} answered 500: {answer[:200]}"
    org.clock.advance(seconds=9)
    assert org.jobs.sweep() == 0
    org.clock.advance(seconds=1)
    assert org.jobs.sweep() == 1

    first, second = receiver.requests
    assert first.headers["x-tessera-delivery"] == second.headers["x-tessera-delivery"] == job.key
    assert job.key == f"webhook:erp:steps[0]:opportunity:{deal['id']}:v1"
    assert first.body == second.body
    assert int(second.headers["x-tessera-timestamp"]) == int(START.timestamp()) + 10  # signed anew
    assert verify(SECRET.encode(), second.headers, second.body, now=int(org.clock().timestamp()))
    [job] = org.jobs_logged()
    assert (job.status, job.attempts, job.result) == ("done", 2, {"status": 200})


def test_a_redirect_is_a_refusal_not_followed(org, receiver):
    receiver.plan(302, "", Location="http://127.0.0.1:9/elsewhere")
    org.service.create("opportunity", {"name": "Deal"})

    [job] = org.jobs_logged()
    assert len(receiver.requests) == 1 and job.status == "retrying"
    assert job.last_error == f"WebhookError: POST {receiver.url} answered 302"


def test_a_receiver_that_does_not_answer_in_time_fails_the_attempt(org, receiver):
    receiver.plan(0)  # hangs
    with flask.Flask(__name__).app_context() as context:
        context.app.config["WEBHOOK_TIMEOUT"] = "0.3"
        org.service.create("opportunity", {"name": "Deal"})
    receiver.release.set()

    [job] = org.jobs_logged()
    assert job.status == "retrying"
    assert job.last_error == f"WebhookError: POST {receiver.url}: no answer within 0.3 s"


def test_an_unreachable_receiver_fails_the_attempt_saying_why(crm, monkeypatch):
    monkeypatch.setenv("WEBHOOK_TEST_SECRET", SECRET)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    service = crm(erp=flow(url))
    jobs = Jobs(JobSettings(), job_types=[WEBHOOK_JOB_TYPE], records=lambda name: service, orgs=lambda: [service.org])
    service.flows.jobs = jobs

    service.create("opportunity", {"name": "Deal"})

    with service.db.read() as conn:
        [job] = jobs.store(service).page(conn).rows
    assert job.status == "retrying" and job.last_error.startswith(f"WebhookError: POST {url} failed: ")


def test_a_missing_secret_fails_the_job_with_a_clear_message_and_sends_nothing(org, receiver, monkeypatch):
    monkeypatch.delenv("WEBHOOK_TEST_SECRET")
    deal = org.service.create("opportunity", {"name": "Confidential deal"})  # the write itself is fine

    assert org.service.get("opportunity", deal["id"])["version"] == 1
    [job] = org.jobs_logged()
    assert receiver.requests == [] and job.status == "retrying"
    assert job.last_error == ("WebhookError: the environment variable WEBHOOK_TEST_SECRET that holds this "
                              "webhook's secret is not set where the job runs; set it for `tessera serve` "
                              "(no broker) or `tessera worker`")

    monkeypatch.setenv("WEBHOOK_TEST_SECRET", SECRET)  # the operator sets it: the retry goes out
    org.clock.advance(seconds=10)
    org.jobs.sweep()
    assert len(receiver.requests) == 1 and org.jobs_logged()[0].status == "done"


def test_a_dry_run_says_what_it_would_send_and_sends_nothing(org, receiver):
    deal = org.service.create("opportunity", {"name": "Deal"})
    assert len(receiver.requests) == 1

    log = org.service.flows.dry_run(org.service.flows.flows["erp"], deal["id"], changes={"amount": "5000"})

    assert log[1] == f"would call POST {receiver.url} (event opportunity.changed); dry run: nothing is sent"
    assert len(receiver.requests) == 1 and len(org.jobs_logged()) == 1


def test_the_log_names_the_delivery_and_a_second_run_for_the_same_version_sends_nothing(crm, receiver, monkeypatch):
    monkeypatch.setenv("WEBHOOK_TEST_SECRET", SECRET)
    service = crm(erp=flow(receiver.url, events="[update]"))
    service.flows.jobs = Jobs(JobSettings(), job_types=[WEBHOOK_JOB_TYPE], records=lambda name: service,
                              orgs=lambda: [service.org])
    deal = service.create("opportunity", {"name": "Deal"})
    key = f"webhook:erp:steps[0]:opportunity:{deal['id']}:v1"
    logs = []
    for _ in range(2):
        with service.unit_of_work() as work:
            logs.append(service.flows.run(service.flows.flows["erp"], work, dict(deal), None).log)

    assert logs[0][1] == (f"queued POST {receiver.url} (event opportunity.changed, delivery {key}): "
                          "sent once the write commits")
    assert logs[1][1] == (f"POST {receiver.url} (event opportunity.changed) was already queued for this "
                          f"version (delivery {key}); not sent again")
    assert [r.headers["x-tessera-delivery"] for r in receiver.requests] == [key]


# ------------------------------------------------------------------------------ metadata

@pytest.mark.parametrize(("step", "expected"), [
    ("{type: webhook, url: 'ftp://erp.example.com/in', secret: WEBHOOK_ERP}", "is not an http:// or https:// URL"),
    ("{type: webhook, url: 'erp.example.com/in', secret: WEBHOOK_ERP}", "is not an http:// or https:// URL"),
    ("{type: webhook, url: 'https://bot:pw@erp.example.com/in', secret: WEBHOOK_ERP}", "carries a user name"),
    ("{type: webhook, url: 'https://erp.example.com:99999/', secret: WEBHOOK_ERP}", "is not a URL"),
    ("{type: webhook, url: 'https://erp.example.com/', secret: WEBHOOK_ERP, method: PUT}",
     "Additional properties are not allowed ('method' was unexpected)"),
    ("{type: webhook, url: 'https://erp.example.com/'}", "'secret' is a required property"),
    ("{type: webhook, url: 'https://erp.example.com/', secret: hunter2-literal}",
     "'hunter2-literal' is not the name of an environment variable starting with WEBHOOK_"),
    ("{type: webhook, url: 'https://erp.example.com/', secret: DATABASE_PASSWORD}", "starting with WEBHOOK_"),
    ("{type: webhook, url: 'https://erp.example.com/', secret: WEBHOOK_ERP, headers: {X-Tessera-Signature: x}}",
     "X-Tessera-Signature is set by Tessera"),
    ("{type: webhook, url: 'https://erp.example.com/', secret: WEBHOOK_ERP, headers: {content-type: text/plain}}",
     "content-type is set by Tessera"),
    ("{type: webhook, url: 'https://erp.example.com/', secret: WEBHOOK_ERP, event: 'two words'}",
     "event: 'two words' must be letters"),
    ("{type: webhook, url: 'https://erp.example.com/', secret: WEBHOOK_ERP, payload: {total: nope}}",
     "payload.total"),
])
def test_a_webhook_that_cannot_run_as_written_is_a_metadata_problem_at_its_place(crm, step, expected):
    with pytest.raises(MetadataError) as raised:
        crm(bad=flow("", steps=f"  - {step}\n"))
    [problem] = raised.value.problems
    assert problem.location.file.endswith("flows/bad.yaml") and problem.location.line == 5
    assert expected in problem.message


def test_a_webhook_in_a_before_save_flow_is_refused(crm):
    step = "  - {type: webhook, url: 'https://erp.example.com/', secret: WEBHOOK_ERP}\n"
    with pytest.raises(MetadataError) as raised:
        crm(bad=flow("", steps=step, extra=", timing: before_save"))
    assert "a webhook needs the saved record" in raised.value.problems[0].message


# ------------------------------------------------------------------------------ registration and keys

def test_the_webhook_job_is_a_built_in_job_type_outside_transactions():
    from tessera.plugins import Plugins

    job_type = Plugins.load().job_types[WEBHOOK_JOB]
    assert job_type is WEBHOOK_JOB_TYPE and job_type.transactional is False


def test_a_delivery_key_names_the_step_record_and_version_and_stays_short():
    assert delivery_key("erp", "steps[0]", "opportunity", 7, 3) == "webhook:erp:steps[0]:opportunity:7:v3"
    at = dt.datetime(2026, 5, 4, 10, 30, 12, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert delivery_key("nightly", "steps[1]", "invoice", 7, 3, at).endswith(":v3:20260504T0230Z")
    long = delivery_key("f" * 300, "steps[0]", "opportunity", 7, 3)
    assert long.startswith("webhook:") and len(long) == len("webhook:") + 64
    assert long == delivery_key("f" * 300, "steps[0]", "opportunity", 7, 3)
