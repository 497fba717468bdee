"""What a job is: its type (name, handler, attempts), what its handler is given, and the
settings every part of the job system reads."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from tessera.records.service import RecordService, UnitOfWork

#: a job's states; ``done`` and ``failed`` are final
STATUSES = ("queued", "running", "retrying", "done", "failed")
#: the states of a job that is not finished
OPEN_STATUSES = ("queued", "running", "retrying")
#: job type names: dotted lowercase words (``flows.resume``), room for a ``periodic.`` prefix
JOB_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
MAX_NAME = 100
MAX_KEY = 200
#: a failure's message is cut to this many characters in the job log
MAX_ERROR = 1000


class JobsError(Exception):
    """A job cannot be enqueued or the job system is misconfigured; the message is for people."""


@dataclass(frozen=True)
class JobContext:
    """What a job's handler is given.

    ``work`` is a unit of work acting as the system whose commit also marks the job done: write
    the job's effect through it and the effect happens exactly once, however often the job is
    delivered. It is None for a type declared ``transactional=False`` (its handler must be
    idempotent by itself). ``attempt`` counts from 1; ``now`` is when this attempt started.
    """

    org: str
    id: int
    name: str
    key: str
    payload: Mapping[str, Any]
    attempt: int
    now: dt.datetime
    records: RecordService
    work: UnitOfWork | None = None


@dataclass(frozen=True)
class JobType:
    """A kind of job. ``run(job: JobContext)`` does the work and may return a JSON-able mapping
    (kept as the job's result); raising fails the attempt, and the job is retried with back-off
    until ``max_attempts`` (default: the JOBS_MAX_ATTEMPTS setting) are used up.

    ``transactional`` (the default): the handler runs inside ``job.work``, and its effect and
    the job's ``done`` commit together. Set it False for work that cannot run in a transaction
    (ANALYZE, calling another system); such a job is done at least once, not exactly once.
    """

    name: str
    run: Callable[[JobContext], Mapping[str, Any] | None]
    label: Mapping[str, str] = field(default_factory=dict)
    max_attempts: int | None = None
    transactional: bool = True
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or len(self.name) > MAX_NAME or not JOB_NAME.match(self.name):
            raise ValueError(f"'{self.name}' is not a job type name: dotted lowercase words such as "
                             f"'flows.resume', at most {MAX_NAME} characters")
        if not callable(self.run):
            raise ValueError(f"job type '{self.name}': run must be callable")
        if self.max_attempts is not None and (not isinstance(self.max_attempts, int) or self.max_attempts < 1):
            raise ValueError(f"job type '{self.name}': max_attempts must be a whole number of at least 1")


@dataclass(frozen=True)
class JobSettings:
    """The jobs settings of one app, checked once (docs/jobs.md explains each)."""

    broker_url: str = ""
    result_backend: str = ""
    queue: str = "tessera"
    visibility_timeout: int = 3600
    max_attempts: int = 5
    backoff_seconds: int = 10
    backoff_max_seconds: int = 3600
    timezone: str = "UTC"
    tick_seconds: int = 30
    instance_path: str = "instance"

    @property
    def eager(self) -> bool:
        """No broker: jobs run in-process right after the commit that enqueued them."""
        return not self.broker_url

    @property
    def zone(self) -> dt.tzinfo:
        return ZoneInfo(self.timezone)

    def backoff(self, attempt: int) -> int:
        """Seconds to wait after failed attempt ``attempt`` (1, 2, ...): doubling, capped."""
        return int(min(self.backoff_max_seconds, self.backoff_seconds * 2 ** max(0, attempt - 1)))

    @classmethod
    def from_config(cls, config: Mapping[str, Any], instance_path: str = "instance") -> JobSettings:
        """Read the settings; a bad value is a JobsError naming the variable and what it takes."""
        def whole(key: str, minimum: int) -> int:
            raw = config.get(key, getattr(cls, _FIELDS[key]))
            try:
                value = int(str(raw).strip())
            except ValueError:
                value = None
            if value is None or value < minimum or isinstance(raw, bool):
                raise JobsError(f"TESSERA_{key} must be a whole number of at least {minimum}, not {raw!r}")
            return value

        zone = str(config.get("JOBS_TIMEZONE") or "UTC").strip()
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise JobsError(f"TESSERA_JOBS_TIMEZONE must be a time zone name such as 'UTC' or "
                            f"'Asia/Shanghai', not {zone!r}") from None
        broker = str(config.get("BROKER_URL") or "").strip()
        if broker and not broker.startswith(("redis://", "rediss://", "redis+socket://")):
            raise JobsError(f"TESSERA_BROKER_URL must be a Redis URL (redis://host:6379/0), not {broker!r}")
        queue = str(config.get("JOBS_QUEUE") or "tessera").strip()
        if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,100}", queue):
            raise JobsError(f"TESSERA_JOBS_QUEUE must be letters, digits and _.:- (at most 100), not {queue!r}")
        return cls(broker_url=broker, result_backend=str(config.get("RESULT_BACKEND") or "").strip() or broker,
                   queue=queue, visibility_timeout=whole("JOBS_VISIBILITY_TIMEOUT", 1),
                   max_attempts=whole("JOBS_MAX_ATTEMPTS", 1), backoff_seconds=whole("JOBS_BACKOFF_SECONDS", 0),
                   backoff_max_seconds=whole("JOBS_BACKOFF_MAX_SECONDS", 0), timezone=zone,
                   tick_seconds=whole("JOBS_TICK_SECONDS", 1), instance_path=instance_path)


_FIELDS = {"JOBS_VISIBILITY_TIMEOUT": "visibility_timeout", "JOBS_MAX_ATTEMPTS": "max_attempts",
           "JOBS_BACKOFF_SECONDS": "backoff_seconds", "JOBS_BACKOFF_MAX_SECONDS": "backoff_max_seconds",
           "JOBS_TICK_SECONDS": "tick_seconds"}


def error_message(exc: BaseException) -> str:
    """A failure as the job log keeps it: the kind and the message, no traceback."""
    text = str(exc).strip()
    message = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return message if len(message) <= MAX_ERROR else message[:MAX_ERROR - 1] + "…"
