"""The ceiling for bench/api_wrk.py: hand-written Flask + SQLAlchemy Core endpoints doing what
the generated API does for leads, on the same table, with the same engine settings and the same
JSON encoding, and writes through the same ``Database.begin`` (on SQLite its writers take
turns on the same file lock) — and nothing else (no permissions, validation, history, events,
hooks or authentication).

    gunicorn -w 2 -b 127.0.0.1:8001 'api_baseline:create_app()'   # with bench/ on the path
    TESSERA_DATABASE_URL=sqlite:///instance/tessera.db (the org 'default' is read)
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import orjson
import sqlalchemy as sa
from flask import Flask, Response, request

from tessera.config import load_settings
from tessera.storage.sync import org_database


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError


def _json(data: Any, status: int = 200, etag: int | None = None) -> Response:
    response = Response(orjson.dumps(data, default=_default, option=orjson.OPT_NAIVE_UTC | orjson.OPT_NON_STR_KEYS), status=status,
                        mimetype="application/json")
    if etag is not None:
        response.headers["ETag"] = f'"{etag}"'
    return response


def create_app() -> Flask:
    db = org_database(load_settings(), "default")
    engine = db.engine
    lead = sa.Table("lead", sa.MetaData(), autoload_with=engine)
    live = lead.c.deleted_at.is_(None)
    columns = [c for c in lead.c if c.name not in ("deleted_at", "deleted_by")]
    one = sa.select(*columns).where((lead.c.id == sa.bindparam("_id")) & live)
    page = (sa.select(*columns).where((lead.c.status == sa.bindparam("_status")) & live)
            .order_by(lead.c.score.desc().nulls_last(), lead.c.id.desc()).limit(50))
    insert = sa.insert(lead).returning(*columns)
    update = (sa.update(lead).where((lead.c.id == sa.bindparam("_id")) & (lead.c.version == sa.bindparam("_version")))
              .values(version=lead.c.version + 1).returning(*columns))
    sqlite = engine.dialect.name == "sqlite"
    app = Flask("api_baseline")

    def now() -> dt.datetime:  # stored as the record service stores it (naive UTC on SQLite)
        moment = dt.datetime.now(dt.UTC)
        return moment.replace(tzinfo=None) if sqlite else moment

    @app.get("/leads/<int:lead_id>")
    def get_lead(lead_id: int) -> Response:
        with engine.connect() as conn:
            row = conn.execute(one, {"_id": lead_id}).mappings().first()
        if row is None:
            return _json({"status": 404}, 404)
        return _json(dict(row), etag=row["version"])

    @app.get("/leads")
    def list_leads() -> Response:
        with engine.connect() as conn:
            rows = conn.execute(page, {"_status": request.args.get("status", "pending")}).mappings().all()
        return _json({"data": [dict(r) for r in rows], "next_cursor": None})

    @app.post("/leads")
    def create_lead() -> Response:
        body = request.get_json()
        values = {k: body.get(k) for k in ("name", "company", "phone", "status")}
        values.update(created_at=now(), updated_at=now(), version=1, score=0, grade="cold")
        with db.begin() as conn:
            row = conn.execute(insert, values).mappings().one()
        return _json(dict(row), 201, etag=row["version"])

    @app.patch("/leads/<int:lead_id>")
    def update_lead(lead_id: int) -> Response:
        version = int(request.headers.get("If-Match", "0").strip('"'))
        body = request.get_json()
        with db.begin() as conn:
            row = conn.execute(update, {"_id": lead_id, "_version": version, "updated_at": now(),
                                        "title": body.get("title")}).mappings().first()
        if row is None:
            return _json({"status": 412}, 412)
        return _json(dict(row), etag=row["version"])

    return app
