"""E-mail: a pluggable sender, chosen by the ``EMAIL_SENDER`` setting, used through a job.

Senders: ``console`` (the default: each message is printed on standard output, so development
needs no mail server), ``file`` (each message is written as an ``.eml`` file into
``EMAIL_FILE_DIR``, default ``instance/mail``) and ``smtp`` (``EMAIL_SMTP_URL``:
``smtp://user:password@host:587`` with STARTTLS, ``smtps://...`` for TLS from the start,
``smtp+plain://...`` for neither). Plugins add senders with ``tessera_register_email_senders``.

Messages are sent by the ``tessera.email`` job, queued in the transaction of the write that
caused them: a rolled-back write sends nothing, and a failing server is retried with the job
system's back-off (/admin/jobs shows the error). A message may be sent twice if the process
dies between the server's acceptance and the job's completion — mail is at least once.
"""

from __future__ import annotations

import smtplib
import ssl
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

#: the job that sends one message
EMAIL_JOB = "tessera.email"
#: where the app keeps its Mailer (``app.extensions[MAILER_KEY]``)
MAILER_KEY = "tessera.mailer"
SMTP_TIMEOUT = 30


class EmailError(Exception):
    """The mail settings are wrong, or a message could not be handed over; for people."""


@dataclass(frozen=True)
class EmailSender:
    """A way to deliver mail: ``send(message, settings)`` hands one message over or raises."""

    name: str
    send: Callable[[EmailMessage, Mapping[str, Any]], None]
    description: str = ""


def build_message(*, sender: str, to: Sequence[str], subject: str, body: str, key: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject.replace("\r", " ").replace("\n", " ")
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="tessera.local")
    if key:
        message["X-Tessera-Key"] = key
    message.set_content(body or subject)
    return message


# ------------------------------------------------------------------------------ built-in senders

def _console(message: EmailMessage, settings: Mapping[str, Any]) -> None:
    text = message.as_string()
    sys.stdout.write(f"----- e-mail -----\n{text}\n----- end of e-mail -----\n")
    sys.stdout.flush()


def _file(message: EmailMessage, settings: Mapping[str, Any]) -> None:
    folder = Path(str(settings.get("EMAIL_FILE_DIR") or "mail"))
    folder.mkdir(parents=True, exist_ok=True)
    name = message["Message-ID"].strip("<>").replace("@", "_").replace("/", "_")
    path = folder / f"{name}.eml"
    partial = path.with_suffix(".eml.part")
    partial.write_bytes(bytes(message))
    partial.replace(path)  # a reader never sees half a message


def _smtp(message: EmailMessage, settings: Mapping[str, Any]) -> None:
    url = str(settings.get("EMAIL_SMTP_URL") or "")
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps", "smtp+plain") or not parts.hostname:
        raise EmailError("EMAIL_SMTP_URL must look like smtp://user:password@host:587 "
                         "(smtps:// for TLS, smtp+plain:// for no encryption)")
    port = parts.port or {"smtps": 465, "smtp": 587}.get(parts.scheme, 25)
    context = ssl.create_default_context()
    try:
        if parts.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(parts.hostname, port, timeout=SMTP_TIMEOUT, context=context)
        else:
            client = smtplib.SMTP(parts.hostname, port, timeout=SMTP_TIMEOUT)
        with client:
            if parts.scheme == "smtp":
                client.starttls(context=context)
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise EmailError(f"the mail server {parts.hostname}:{port} did not take the message: "
                         f"{type(exc).__name__}: {exc}") from None


BUILTIN_SENDERS = (
    EmailSender("console", _console, "Print each message on standard output (development)."),
    EmailSender("file", _file, "Write each message as an .eml file into EMAIL_FILE_DIR."),
    EmailSender("smtp", _smtp, "Hand each message to the SMTP server of EMAIL_SMTP_URL."),
)


# ------------------------------------------------------------------------------ the mailer

class Mailer:
    """The app's chosen sender with its settings."""

    def __init__(self, settings: Mapping[str, Any], senders: Mapping[str, EmailSender]) -> None:
        name = str(settings.get("EMAIL_SENDER") or "console")
        if name not in senders:
            raise EmailError(f"EMAIL_SENDER is '{name}'; the senders are {', '.join(sorted(senders))}")
        self.sender = senders[name]
        self.settings = dict(settings)
        self.from_address = str(settings.get("EMAIL_FROM") or "Tessera <tessera@localhost>")

    def send(self, to: Sequence[str], subject: str, body: str, *, key: str | None = None) -> EmailMessage:
        addresses = [a for a in (str(t).strip() for t in to) if a]
        if not addresses:
            raise EmailError("a message needs at least one recipient")
        message = build_message(sender=self.from_address, to=addresses, subject=subject, body=body, key=key)
        self.sender.send(message, self.settings)
        return message


def init_app(app: Any, plugins: Any) -> Mailer:
    """The app's Mailer from its settings and the plugins' senders (EmailError on a bad setting)."""
    senders = {sender.name: sender for sender in BUILTIN_SENDERS}
    for _plugin, answer in plugins.answers("tessera_register_email_senders"):
        for sender in answer or ():
            senders[sender.name] = sender
    settings = dict(app.config)
    if not settings.get("EMAIL_FILE_DIR"):
        settings["EMAIL_FILE_DIR"] = str(Path(app.instance_path) / "mail")
    mailer = Mailer(settings, senders)
    app.extensions[MAILER_KEY] = mailer
    return mailer


def current_mailer() -> Mailer:
    from flask import current_app, has_app_context

    if not has_app_context() or MAILER_KEY not in current_app.extensions:
        raise EmailError("e-mail needs the Tessera app (it is sent by a job of the app)")
    return current_app.extensions[MAILER_KEY]


def send_email_job(job: Any) -> dict[str, Any]:
    """The ``tessera.email`` job: ``{to: [...], subject, body}``, sent through the app's sender."""
    payload = job.payload
    message = current_mailer().send(list(payload.get("to") or ()), str(payload.get("subject") or ""),
                                    str(payload.get("body") or ""), key=job.key)
    return {"message_id": message["Message-ID"], "to": len(payload.get("to") or ())}
