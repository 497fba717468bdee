"""Auto-numbers (``Q-{YYYY}-{0000}``) that never repeat, even under parallel inserts.

Each (object, field, period) has a counter row. Taking a number is one ``UPDATE ... SET
value = value + 1 ... RETURNING value`` inside the record's own transaction: the row lock
(PostgreSQL) or the database write lock (SQLite) makes concurrent creators wait for each
other, and a rolled-back insert gives its number back. The period is what the pattern's date
tokens spell (``{YYYY}`` → ``2026``), so a yearly pattern starts again at ``start`` each year.
"""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from tessera.metadata.model import FieldDef

_TOKEN = re.compile(r"\{([^{}]*)\}")
_DATE_TOKENS = {"YYYY": "%Y", "YY": "%y", "MM": "%m", "DD": "%d"}


def period_of(pattern: str, today: dt.date) -> str:
    """The counter's period for ``pattern`` on ``today`` ('' when it has no date token)."""
    return "".join(today.strftime(_DATE_TOKENS[t]) for t in _TOKEN.findall(pattern) if t in _DATE_TOKENS)


def render(pattern: str, today: dt.date, number: int) -> str:
    def token(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in _DATE_TOKENS:
            return today.strftime(_DATE_TOKENS[name])
        return str(number).zfill(len(name))  # a counter of zeros: its width

    return _TOKEN.sub(token, pattern)


def next_number(conn: Connection, counters: sa.Table, object_name: str, field: FieldDef,
                today: dt.date) -> str:
    """Take the next number of ``field`` and render it."""
    pattern = field.pattern or "{0000}"
    period = period_of(pattern, today)
    key = (counters.c.object == object_name) & (counters.c.field == field.name) & (counters.c.period == period)
    bump = sa.update(counters).where(key).values(value=counters.c.value + 1).returning(counters.c.value)
    value = conn.execute(bump).scalar()
    if value is None:
        start = field.start if field.start is not None else 1
        insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(counters)
        created = conn.execute(
            insert.values(object=object_name, field=field.name, period=period, value=start)
            .on_conflict_do_nothing().returning(counters.c.value)).scalar()
        value = created if created is not None else conn.execute(bump).scalar()
    return render(pattern, today, int(value))
