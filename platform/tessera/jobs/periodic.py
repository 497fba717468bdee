"""A job that runs on a schedule; plugins register them with ``tessera_register_periodic_jobs``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PeriodicJob:
    """``schedule`` is a cron expression (minute hour day month weekday); ``task`` is called
    with keyword arguments ``org`` and ``now``."""

    name: str
    schedule: str
    task: Callable[..., Any]
    description: str = ""

    def __post_init__(self) -> None:
        if len(self.schedule.split()) != 5:
            raise ValueError(f"job '{self.name}': '{self.schedule}' is not a cron expression of five fields "
                             "(minute hour day month weekday)")
