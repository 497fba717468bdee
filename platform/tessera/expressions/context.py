"""The evaluation context: the record being evaluated and the clock."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timezone
from typing import Any

__all__ = ["EvalContext", "Resolver"]

#: Loads the value of a lookup path (e.g. ``("account", "industry")``) when the related
#: record is not present in ``values`` as a nested mapping.
Resolver = Callable[[tuple[str, ...]], Any]


class EvalContext:
    """What a compiled formula reads while running.

    ``values``: the record's field values by name. A lookup field may hold the related
    record as a nested mapping (``values["account"] = {"id": 7, "industry": "Retail"}``)
    or just its id; in the latter case dotted paths are loaded through ``resolver``.
    ``prior``: the stored values before this change (None for a new record), read by
    ISCHANGED and PRIORVALUE.
    ``now`` / ``today``: the clock for NOW() and TODAY(). ``now`` must be time-zone aware
    and defaults to the current UTC time (taken once, on first use); ``today`` defaults to
    ``now.date()``, so passing ``now`` in the organisation's time zone controls both.
    """

    __slots__ = ("values", "prior", "resolver", "_now", "_today")

    def __init__(
        self,
        values: Mapping[str, Any],
        *,
        prior: Mapping[str, Any] | None = None,
        now: datetime | None = None,
        today: date | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        if now is not None and (not isinstance(now, datetime) or now.utcoffset() is None):
            raise ValueError("EvalContext(now=...) must be a time-zone aware datetime")
        if today is not None and (not isinstance(today, date) or isinstance(today, datetime)):
            raise ValueError("EvalContext(today=...) must be a date")
        self.values = values
        self.prior = prior
        self.resolver = resolver
        self._now = now
        self._today = today

    @property
    def now(self) -> datetime:
        """The current time for NOW(); fixed for the life of this context."""
        if self._now is None:
            self._now = datetime.now(timezone.utc)
        return self._now

    @property
    def today(self) -> date:
        """The current date for TODAY(); defaults to ``now.date()``."""
        if self._today is None:
            self._today = self.now.date()
        return self._today

    def __repr__(self) -> str:
        return f"EvalContext(values={self.values!r}, prior={self.prior!r})"
