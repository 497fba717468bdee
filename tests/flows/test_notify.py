"""The notify step: in-app notifications in each recipient's language, e-mail through the
configured sender after the commit, nothing for a write that rolls back or a dry run."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email import message_from_bytes, policy

import pytest
from flask import Flask

from tessera import notifications
from tessera.jobs import Jobs, JobSettings
from tessera.metadata.errors import MetadataError
from tessera.notifications.email import BUILTIN_SENDERS, MAILER_KEY, Mailer, send_email_job
from tessera.records import ValidationFailed
from tessera.records.service import Actor

WON_NOTICE = """
label: {en: Tell the team, zh-CN: 通知团队}
object: opportunity
trigger:
  type: record
  events: [update]
  condition: "ISCHANGED(stage) && stage = 'closed_won'"
steps:
  - type: notify
    to: [{field: owner_id}, {manager_of: owner_id}, {role: admin}]
    title: {en: "'Won: ' & name", zh-CN: "'赢单：' & name"}
    body: "'Amount ' & TEXT(amount)"
    channels: CHANNELS
"""
REP = Actor(id=3, name="ann", role="rep")


@dataclass
class Person:
    id: int
    manager_id: int | None
    role: str
    locale: str = "en"
    email: str | None = None
    active: bool = True


class Directory:
    people = {2: Person(2, None, "manager", "zh-CN", "max@example.com"), 3: Person(3, 2, "rep", "en", None),
              7: Person(7, None, "admin", "en", "root@example.com"), 8: Person(8, None, "admin", "en", "gone@x", False)}

    def users_in_roles(self, org, roles):
        return {p.id for p in self.people.values() if p.role in set(roles)}

    def user_by_id(self, user_id):
        return self.people.get(user_id)


def won_flow(channels="[in_app]"):
    return WON_NOTICE.replace("CHANNELS", channels)


def win(service, name="Acme deal", amount=1200):
    deal = service.create("opportunity", {"name": name, "stage": "proposal", "amount": amount}, actor=REP)
    service.update("opportunity", deal["id"], {"stage": "closed_won"}, actor=REP, version=None)
    return deal


def inbox(service, user_id, **options):
    with service.unit_of_work(read_only=True) as work:
        return notifications.for_user(work, user_id, **options)


def test_each_recipient_is_notified_in_their_own_language(crm):
    service = crm(directory=Directory(), notice=won_flow())
    deal = win(service)

    (owner_note,) = inbox(service, 3)
    assert owner_note.title == "Won: Acme deal" and owner_note.body == "Amount 1200"
    assert (owner_note.object, owner_note.record_id, owner_note.source) == ("opportunity", deal["id"], "notice")
    (manager_note,) = inbox(service, 2)
    assert manager_note.title == "赢单：Acme deal"  # the manager reads Chinese
    assert [n.title for n in inbox(service, 7)] == ["Won: Acme deal"]
    assert inbox(service, 8) == []  # an inactive user is not notified


def test_unread_counts_and_marking_read_touch_only_the_users_own(crm):
    service = crm(directory=Directory(), notice=won_flow())
    win(service, "One")
    win(service, "Two")
    with service.unit_of_work(read_only=True) as work:
        assert notifications.unread_count(work, 3) == (2, False)
        assert notifications.unread_count(work, 3, cap=1) == (1, True)
    newest, oldest = inbox(service, 3)
    assert newest.title == "Won: Two"
    with service.unit_of_work() as work:
        assert notifications.mark_read(work, 2, [newest.id]) == 0  # not the manager's
        assert notifications.mark_read(work, 3, [newest.id]) == 1
    assert [n.title for n in inbox(service, 3, unread_only=True)] == ["Won: One"]
    with service.unit_of_work() as work:
        assert notifications.mark_read(work, 3) == 1
        assert notifications.unread_count(work, 3) == (0, False)
    assert [n.title for n in inbox(service, 3, before=newest.id)] == ["Won: One"]


def test_a_write_that_rolls_back_notifies_nobody(crm):
    failing = won_flow() + "  - {type: set_fields, values: {probability: \"VALUE('not a number')\"}}\n"
    service = crm(directory=Directory(), notice=failing)
    deal = service.create("opportunity", {"name": "Acme", "stage": "proposal", "amount": 5}, actor=REP)
    with pytest.raises(ValidationFailed):
        service.update("opportunity", deal["id"], {"stage": "closed_won"}, actor=REP, version=None)
    assert inbox(service, 3) == [] and inbox(service, 2) == []


def test_the_dry_run_says_who_would_be_notified_and_notifies_nobody(crm):
    service = crm(directory=Directory(), notice=won_flow())
    deal = service.create("opportunity", {"name": "Acme", "stage": "proposal", "amount": 5}, actor=REP)
    log = service.flows.dry_run(service.flows.flows["notice"], deal["id"], changes={"stage": "closed_won"})
    assert any("would notify 3 user(s)" in line for line in log)
    assert inbox(service, 3) == []


@pytest.fixture
def mail(tmp_path):
    """An app context whose mailer writes .eml files to a folder; the folder's messages."""
    app = Flask("notify-test")
    folder = tmp_path / "mail"
    app.extensions[MAILER_KEY] = Mailer({"EMAIL_SENDER": "file", "EMAIL_FILE_DIR": str(folder),
                                         "EMAIL_FROM": "CRM <crm@example.com>"},
                                        {s.name: s for s in BUILTIN_SENDERS})
    with app.app_context():
        yield lambda: sorted((message_from_bytes(p.read_bytes(), policy=policy.default)
                              for p in folder.glob("*.eml")), key=lambda m: m["To"]) if folder.exists() else []


def with_jobs(service):
    from tessera.default_jobs import tessera_register_job_types

    service.flows.jobs = Jobs(JobSettings(), job_types=tessera_register_job_types(), records=lambda org: service,
                              orgs=lambda: [service.org], clock=lambda: dt.datetime.now(dt.UTC))
    return service


def test_the_email_channel_mails_users_with_an_address_after_the_commit(crm, mail):
    service = with_jobs(crm(directory=Directory(), notice=won_flow("[in_app, email]")))
    win(service)
    sent = mail()
    assert [m["To"] for m in sent] == ["max@example.com", "root@example.com"]  # the rep has no address
    manager_mail = sent[0]
    assert manager_mail["Subject"] == "赢单：Acme deal" and manager_mail["From"] == "CRM <crm@example.com>"
    assert manager_mail.get_content().strip() == "Amount 1200"
    assert len(inbox(service, 3)) == 1  # the in-app notification still reaches the rep


def test_an_email_of_a_refused_write_is_never_sent(crm, mail):
    failing = won_flow("[email]") + "  - {type: set_fields, values: {probability: \"VALUE('x')\"}}\n"
    service = with_jobs(crm(directory=Directory(), notice=failing))
    deal = service.create("opportunity", {"name": "Acme", "stage": "proposal", "amount": 5}, actor=REP)
    with pytest.raises(ValidationFailed):
        service.update("opportunity", deal["id"], {"stage": "closed_won"}, actor=REP, version=None)
    assert mail() == []


def test_email_without_the_job_system_refuses_the_write_with_a_clear_message(crm):
    service = crm(directory=Directory(), notice=won_flow("[email]"))  # no app, no jobs
    deal = service.create("opportunity", {"name": "Acme", "stage": "proposal", "amount": 5}, actor=REP)
    with pytest.raises(ValidationFailed) as raised:
        service.update("opportunity", deal["id"], {"stage": "closed_won"}, actor=REP, version=None)
    assert "jobs need the Tessera app" in str(raised.value)


def test_the_email_job_refuses_a_message_without_recipients(mail):
    class Job:
        key, payload = "k", {"to": [], "subject": "Hi", "body": "x"}

    from tessera.notifications.email import EmailError

    with pytest.raises(EmailError, match="at least one recipient"):
        send_email_job(Job())
    assert mail() == []


@pytest.mark.parametrize(("change", "problem"), [
    ("{role: nobody}", "unknown role 'nobody'"),
    ("{manager_of: name}", "opportunity.name does not hold a user"),
    ("{team: x}", "notice.yaml:9"),
])
def test_a_recipient_that_names_nobody_is_a_metadata_problem(crm, change, problem):
    with pytest.raises(MetadataError) as raised:
        crm(notice=won_flow().replace("{role: admin}", change))
    assert problem in str(raised.value)


def test_email_fields_need_the_email_channel(crm):
    flow = won_flow().replace("    channels: [in_app]\n", "    channels: [in_app]\n    email_fields: [next_step]\n")
    with pytest.raises(MetadataError, match="needs the email channel"):
        crm(notice=flow)


def test_the_sender_setting_must_name_a_sender():
    from tessera.notifications.email import EmailError

    with pytest.raises(EmailError, match="EMAIL_SENDER is 'pigeon'"):
        Mailer({"EMAIL_SENDER": "pigeon"}, {s.name: s for s in BUILTIN_SENDERS})
