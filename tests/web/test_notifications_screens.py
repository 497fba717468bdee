"""The bell and /notifications: the user's own notifications, opened, marked read, escaped."""

from __future__ import annotations

import re

from tessera import notifications
from tessera.records.service import SYSTEM

PAYLOAD = '"><script>window.__xss=1</script>'


def notify(records, user_id, title, **where):
    with records.unit_of_work(SYSTEM) as work:
        return notifications.send(work, [user_id], title, "Details", source="test", **where)[0]


def bell(html: str) -> str:
    return re.search(r'id="notifications".*?<span class="badge[^"]*">([^<]+)</span>', html, re.S).group(1)


def test_the_bell_counts_unread_notifications_and_opening_one_marks_it_read(sign_in, records, actor):
    rep = actor("li.na")
    client = sign_in("li.na")
    before = int(bell(client.get("/").get_data(as_text=True)))
    lead = records.query("lead", actor=SYSTEM, filter={"owner_id": rep.id}, limit=1).rows[0]["id"]
    note = notify(records, rep.id, "Your lead was re-assigned", object="lead", record_id=lead)
    notify(records, rep.id, "A note without a record")

    page = client.get("/notifications").get_data(as_text=True)
    assert int(bell(page)) == before + 2
    assert "Your lead was re-assigned" in page and "A note without a record" in page
    opened = client.get(f"/notifications/{note}/open")
    assert opened.status_code == 303 and opened.headers["Location"].endswith(f"/o/lead/{lead}")
    assert int(bell(client.get("/").get_data(as_text=True))) == before + 1
    unread = client.get("/notifications?unread=1").get_data(as_text=True)
    assert "A note without a record" in unread and "Your lead was re-assigned" not in unread


def test_mark_all_as_read_needs_the_csrf_token_and_clears_the_bell(sign_in, records, actor, csrf):
    rep = actor("sun.jing")
    client = sign_in("sun.jing")
    notify(records, rep.id, "Something happened")
    assert client.post("/notifications/read", data={}).status_code == 400  # no CSRF token
    done = client.post("/notifications/read", data={"csrf_token": csrf(client, "/notifications")})
    assert done.status_code == 303
    assert bell(client.get("/notifications").get_data(as_text=True)) == "0"


def test_another_users_notification_can_be_neither_seen_nor_opened(sign_in, records, actor):
    other = actor("zhang.wei")
    note = notify(records, other.id, "For Zhang Wei only")
    client = sign_in("li.na")
    assert "For Zhang Wei only" not in client.get("/notifications").get_data(as_text=True)
    assert client.get(f"/notifications/{note}/open").status_code == 404
    with records.unit_of_work(SYSTEM, read_only=True) as work:
        assert notifications.for_user(work, other.id, limit=1)[0].read_at is None


def test_a_notification_title_is_shown_as_text(sign_in, records, actor):
    rep = actor("li.na")
    notify(records, rep.id, PAYLOAD)
    page = sign_in("li.na").get("/notifications").get_data(as_text=True)
    assert "<script>window.__xss" not in page and "&lt;script&gt;window.__xss=1&lt;/script&gt;" in page


def test_the_page_speaks_chinese(sign_in):
    page = sign_in("li.na", lang="zh-CN").get("/notifications").get_data(as_text=True)
    assert "全部标为已读" in page
