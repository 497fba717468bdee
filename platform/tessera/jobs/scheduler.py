"""The in-process scheduler: what ``tessera beat`` does, for a deployment without a broker.

``tessera serve`` starts one in each of its worker processes when no broker is configured, so
``make run`` needs no Redis. Each look at the clock (:meth:`Scheduler.tick`) fires the periodic
jobs whose time has come and dispatches the jobs that are due again (retries after their
back-off, jobs whose process stopped). Two processes firing the same scheduled time enqueue it
once: the job's key names the time. The clock is injected, so tests move time instead of
sleeping.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

from .runner import Jobs
from .schedule import last_run, next_run

log = logging.getLogger(__name__)


class Scheduler:
    """Periodic jobs and due retries of one :class:`~.runner.Jobs`, on its settings' time zone."""

    def __init__(self, jobs: Jobs, *, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.jobs = jobs
        self.clock = clock or jobs.clock
        started = self.clock()
        self._zone = jobs.settings.zone
        #: periodic job name -> the next time it is due (runs missed before start are not made up)
        self.next_due: dict[str, dt.datetime] = {
            name: next_run(job.schedule, started, self._zone) for name, job in jobs.periodic.items()}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> list[str]:
        """Fire each periodic job that is due (once, for its latest scheduled time, however many
        were missed), then dispatch the due jobs; returns the names of the jobs queued."""
        now = self.clock()
        fired = []
        for name, due in sorted(self.next_due.items()):
            if due > now:
                continue
            job = self.jobs.periodic[name]
            if self.jobs.fire_periodic(name, last_run(job.schedule, now, self._zone)):
                fired.append(name)  # queued in some org (a job's ``wanted`` may pass them all)
            self.next_due[name] = next_run(job.schedule, now, self._zone)
        self.jobs.sweep(now)
        return fired

    def seconds_to_wait(self) -> float:
        """Until the next periodic job is due, at most the JOBS_TICK_SECONDS setting (the sweep's pace)."""
        limit = float(self.jobs.settings.tick_seconds)
        if not self.next_due:
            return limit
        until = (min(self.next_due.values()) - self.clock()).total_seconds()
        return max(0.5, min(limit, until))

    # ------------------------------------------------------------------ the thread
    def start(self) -> None:
        """Run :meth:`tick` on a daemon thread until :meth:`stop`."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="tessera-jobs-scheduler", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.seconds_to_wait()):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - one bad tick must not stop the schedule
                log.exception("the in-process job scheduler failed a tick; it goes on")
