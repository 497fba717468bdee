"""Simulated time: the demo is written as the history it pretends to be.

The generators decide everything up front and schedule each write as an event at the moment it
"happened" (a lead captured in March, converted in April; an order numbered SO-202604-…).
:meth:`Timeline.run` replays the events in time order through the record service, whose clock
(the public ``clock`` argument of :class:`RecordService`) reads the simulated time. Consecutive
events of one user on one day share a unit of work stamped with the time of its last event, so
``created_at``, history, auto-numbers and every rule that reads ``TODAY()``/``NOW()`` see the
date of the business event. Every event happens before ``today`` (China time), so nothing looks
like it comes from the future when the demo is opened.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from tessera.records.service import Actor, RecordService, UnitOfWork

#: China Standard Time (no daylight saving): business hours are 09:00–18:00 here
CST = dt.timezone(dt.timedelta(hours=8), "CST")

Action = Callable[[UnitOfWork], None]


@dataclass(order=True)
class Event:
    when: dt.datetime
    seq: int
    actor: Actor = field(compare=False)
    action: Action = field(compare=False)
    fresh: bool = field(default=False, compare=False)


class Timeline:
    """Events at simulated moments between ``start`` and the day before ``today``."""

    def __init__(self, today: dt.date, history_days: int, rng: random.Random) -> None:
        self.today = today
        self.start = today - dt.timedelta(days=history_days)
        self.last_day = today - dt.timedelta(days=1)
        #: the admin sets the company up on the first workday; business starts the workday after
        self.setup_day = self._next_workday(self.start)
        self.first_day = self._next_workday(self.setup_day + dt.timedelta(days=1))
        self.rng = rng
        self.now = self.moment(self.setup_day, 9.0)
        self.units = 0
        self._events: list[Event] = []

    # ------------------------------------------------------------------ moments
    def moment(self, day: dt.date, hour: float) -> dt.datetime:
        """``day`` at ``hour`` (decimal hours, China time) as an aware UTC datetime."""
        local = dt.datetime.combine(day, dt.time(0), CST) + dt.timedelta(hours=hour)
        return local.astimezone(dt.UTC)

    def workday(self, day: dt.date) -> dt.date:
        """``day`` moved off the weekend (Saturday back to Friday, Sunday on to Monday), and
        kept inside the history."""
        if day.weekday() == 5:
            day -= dt.timedelta(days=1)
        elif day.weekday() == 6:
            day += dt.timedelta(days=1)
        return self.clamp(day)

    def clamp(self, day: dt.date) -> dt.date:
        """``day`` kept between the first business day and the last day of the history."""
        if day > self.last_day:
            day = self.last_day
            while day.weekday() >= 5:
                day -= dt.timedelta(days=1)
        return max(day, self.first_day)

    @staticmethod
    def _next_workday(day: dt.date) -> dt.date:
        while day.weekday() >= 5:
            day += dt.timedelta(days=1)
        return day

    def during_work(self, day: dt.date, earliest: float = 9.0, latest: float = 18.0) -> dt.datetime:
        """A random business-hours moment on the workday nearest ``day``."""
        minutes = self.rng.randrange(int(earliest * 60), int(latest * 60))
        return self.moment(self.workday(day), minutes / 60)

    def after(self, when: dt.datetime, min_days: float, max_days: float) -> dt.datetime:
        """A business-hours moment ``min_days``–``max_days`` after ``when`` (not before it)."""
        local = when.astimezone(CST)
        day = local.date() + dt.timedelta(days=self.rng.randint(int(min_days), int(max_days)))
        moment = self.during_work(day)
        if moment <= when:
            moment = min(when + dt.timedelta(minutes=self.rng.randint(5, 90)),
                         self.moment(self.last_day, 23.9))
        return moment

    def next_step(self, when: dt.datetime, min_days: int, max_days: int) -> dt.datetime | None:
        """The moment of a process's next step, ``min_days``–``max_days`` after ``when`` in
        business hours — or None when it would fall on or after today (it has not happened)."""
        day = self.local_date(when) + dt.timedelta(days=self.rng.randint(min_days, max_days))
        if day > self.last_day:
            return None
        moment = self.during_work(day)
        if moment <= when:
            moment = when + dt.timedelta(minutes=self.rng.randint(5, 90))
        return moment if self.local_date(moment) <= self.last_day else None

    def days_ago(self, low: int, high: int) -> dt.date:
        """A workday between ``high`` and ``low`` days before today."""
        return self.workday(self.today - dt.timedelta(days=self.rng.randint(low, high)))

    @staticmethod
    def local_date(when: dt.datetime) -> dt.date:
        return when.astimezone(CST).date()

    # ------------------------------------------------------------------ events
    def at(self, when: dt.datetime, actor: Actor, action: Action, *, fresh: bool = False) -> None:
        """Schedule ``action(work)`` at ``when`` as ``actor``. ``fresh`` starts a new unit of
        work, so what the action reads is not an earlier read kept by the unit of work."""
        if self.local_date(when) >= self.today:
            raise ValueError(f"demo event at {when} is not before {self.today}")
        self._events.append(Event(when, len(self._events), actor, action, fresh))

    def __len__(self) -> int:
        return len(self._events)

    def clock(self) -> dt.datetime:
        """The record service's clock while the timeline runs."""
        return self.now

    def run(self, service: RecordService) -> None:
        """Replay every event in time order: one unit of work per run of events of one user
        on one day. A failing event raises; the units of work before it stay committed."""
        events = sorted(self._events)
        self._events = []
        index = 0
        while index < len(events):
            first = events[index]
            day = self.local_date(first.when)
            end = index + 1
            while (end < len(events) and not events[end].fresh and events[end].actor == first.actor
                   and self.local_date(events[end].when) == day):
                end += 1
            group = events[index:end]
            self.now = group[-1].when
            with service.unit_of_work(first.actor) as work:
                for event in group:
                    event.action(work)
            self.units += 1
            index = end
