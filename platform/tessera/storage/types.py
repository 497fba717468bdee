"""Column types that behave the same on SQLite and PostgreSQL.

* :class:`ExactDecimal` — money and decimals. PostgreSQL stores ``NUMERIC(p, s)``. SQLite has
  no exact decimal type (NUMERIC affinity falls back to 8-byte floats), so there the value is
  stored as a scaled 64-bit integer (``12.34`` at scale 2 is ``1234``): comparisons, sorting and
  sums stay exact and use the column's index. Never a float.
* :class:`UTCDateTime` — always time-zone aware UTC in Python; ``timestamptz`` on PostgreSQL,
  UTC text on SQLite.
* :data:`JSONType` — ``jsonb`` on PostgreSQL, JSON text on SQLite.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator

_INT64_MAX = 2**63 - 1


class ExactDecimal(TypeDecorator[Decimal]):
    """An exact decimal with ``precision`` digits, ``scale`` of them after the point."""

    impl = sa.Numeric
    cache_ok = True

    def __init__(self, precision: int = 18, scale: int = 2) -> None:
        super().__init__()
        self.precision = precision
        self.scale = scale
        self._quantum = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.BigInteger())
        return dialect.type_descriptor(sa.Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        try:
            number = (value if isinstance(value, Decimal) else Decimal(str(value))).quantize(
                self._quantum, rounding=ROUND_HALF_UP)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
        if dialect.name != "sqlite":
            return number
        scaled = int(number.scaleb(self.scale))
        if abs(scaled) > _INT64_MAX:
            raise ValueError(f"{number} is too large for this database")
        return scaled

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-self.scale)
        return Decimal(value).quantize(self._quantum)

    def coerce_compared_value(self, op: Any, value: Any) -> sa.types.TypeEngine[Any]:
        return self  # literals compared with the column are scaled the same way


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A point in time, always returned as an aware UTC datetime."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise ValueError(f"{value!r} is not a date and time")
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)

    def coerce_compared_value(self, op: Any, value: Any) -> sa.types.TypeEngine[Any]:
        return self


JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
