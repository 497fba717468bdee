"""The lead list screen (50 rows over 100,000 leads) against a hand-written page, in one run.

A fresh SQLite org with the L2C package; 100,000 leads bulk-inserted (SQLAlchemy Core, 5,000 a
statement), owned by an admin and a sales rep. Each page is a real request through Flask's test
client with a signed-in session, so both sides pay the same request, session and sign-in
overhead:

* ``/o/lead?view=all``        the whole screen: shell (navigation, notifications badge), view and
                              filter bar, bulk bar, the table (count, refs, localized values)
* the same as an htmx fragment (``HX-Request``): the table alone
* ``view=hot``                a view with a filter and sort (score >= 80, status in ...)
* ``sort=company&status=in_progress``  a header sort and a filter from the URL
* the sales rep's ``my_open`` (owner = $me): record-level access applied
* page 2 (keyset cursor)
* baseline: one SQLAlchemy Core SELECT of the same columns and order + a minimal Jinja
  template printing the 50 rows (no permissions, no localization, no shell).

Run: .venv/bin/python bench/list_page.py [--rows 100000] [--repeat 50]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from flask import render_template_string

from tessera.app import create_app

PASSWORD = "bench-password-1"
COLUMNS = ("name", "company", "phone", "status", "grade", "score", "source", "last_activity_at", "protected_until")
BASELINE_PAGE = """<!doctype html><html><body><table>
<thead><tr>{% for c in columns %}<th>{{ c }}</th>{% endfor %}</tr></thead><tbody>
{% for row in rows %}<tr>{% for value in row %}<td>{{ value if value is not none else '' }}</td>{% endfor %}</tr>
{% endfor %}
</tbody></table></body></html>"""


def build(folder: Path, rows: int):
    app = create_app({"SECRET_KEY": "bench", "PASSWORD_PROFILE": "CHEAPEST",
                      "DATABASE_URL": f"sqlite:///{folder / 'tessera.db'}"})
    service = app.extensions["tessera.records"]
    from tessera.storage.sync import deploy

    deploy(service.registry, service.db)
    store = app.extensions["tessera.platform"]
    admin = store.create_user("default", "boss", PASSWORD, "admin", name="Boss")
    rep = store.create_user("default", "rep", PASSWORD, "sales_rep", name="Rep")
    seed(service, rows, [admin.id, rep.id])
    table = service.schema.table("lead")

    @app.get("/bench/baseline")
    def baseline():
        query = (sa.select(*(table.c[name] for name in COLUMNS))
                 .where(table.c.deleted_at.is_(None))
                 .order_by(table.c.created_at.desc(), table.c.id.desc()).limit(51))
        with service.db.begin() as conn:
            found = conn.execute(query).all()[:50]
        return render_template_string(BASELINE_PAGE, columns=COLUMNS, rows=found)

    return app


def seed(service, rows: int, owners: list[int]) -> None:
    rng = random.Random(8)
    table = service.schema.table("lead")
    now = dt.datetime.now(dt.UTC)
    statuses = ["unassigned", "pending", "in_progress", "invalid", "converted"]
    sources = ["web_form", "campaign", "import", "api", "exhibition", "referral"]
    with service.db.begin() as conn:
        batch = []
        for i in range(rows):
            score = rng.randrange(101)
            batch.append(dict(
                name=f"Contact {i}", company=f"Company {rng.randrange(20_000)} Ltd.", phone=f"+86 13{i:09d}",
                email=f"c{i}@example.cn", status=rng.choice(statuses), source=rng.choice(sources), score=score,
                grade="hot" if score >= 80 else "warm" if score >= 50 else "cold", attribute_score=score,
                behaviour_score=0, returned_count=0, owner_id=rng.choice(owners), created_by=owners[0],
                updated_by=owners[0], last_activity_at=now - dt.timedelta(hours=rng.randrange(2000)),
                protected_until=(now + dt.timedelta(days=rng.randrange(60))).date(),
                created_at=now - dt.timedelta(seconds=i * 7), updated_at=now, version=1))
            if len(batch) == 5000:
                conn.execute(table.insert(), batch)
                batch.clear()
        if batch:
            conn.execute(table.insert(), batch)


def sign_in(app, username: str):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    response = client.post("/login", data={"org": "default", "username": username, "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 303, response.status_code
    return client


def timed(repeat: int, client, path: str, headers: dict[str, str] | None = None) -> tuple[float, float, int]:
    response = client.get(path, headers=headers)  # warm: compiled statements, templates, caches
    assert response.status_code == 200, (path, response.status_code, response.get_data(as_text=True)[:500])
    rows = response.get_data(as_text=True).count("<tr")
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1], rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        app = build(Path(folder), args.rows)
        print(f"SQLite: {args.rows:,} leads seeded in {time.perf_counter() - started:.1f} s; "
              f"median and p95 of {args.repeat} requests (Flask test client, signed in)")
        admin, rep = sign_in(app, "boss"), sign_in(app, "rep")
        page2 = re.search(r'id="next-page" href="([^"]+)"', admin.get("/o/lead?view=all").get_data(as_text=True))
        cases = [
            ("baseline: Core SELECT + minimal template", admin, "/bench/baseline", None),
            ("list page, view=all (full page)", admin, "/o/lead?view=all", None),
            ("list fragment, view=all (htmx)", admin, "/o/lead?view=all", {"HX-Request": "true"}),
            ("view=hot (filter + sort)", admin, "/o/lead?view=hot", {"HX-Request": "true"}),
            ("header sort + URL filter", admin, "/o/lead?view=all&sort=company&status=in_progress",
             {"HX-Request": "true"}),
            ("sales rep, my_open (record access)", rep, "/o/lead?view=my_open", {"HX-Request": "true"}),
            ("page 2 (keyset cursor)", admin, page2.group(1).replace("&amp;", "&"), {"HX-Request": "true"}),
        ]
        base = None
        for label, client, path, headers in cases:
            median, p95, rows = timed(args.repeat, client, path, headers)
            base = base or median
            print(f"  {label:<42} {median * 1e3:7.2f} ms  (p95 {p95 * 1e3:7.2f} ms, {rows - 1:>3} rows)  "
                  f"x{median / base:5.2f}")
        app.extensions["tessera.records"].db.dispose()


if __name__ == "__main__":
    main()
