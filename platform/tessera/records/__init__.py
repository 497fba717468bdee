"""Records: the one door to reading and writing records (see docs/records.md)."""

from .errors import (
    RECORD,
    DeleteRefused,
    Problem,
    RecordError,
    RecordNotFound,
    StaleRecord,
    UnknownObject,
    ValidationFailed,
)
from .events import EVENTS, RecordChange, RecordEvents
from .service import SYSTEM, Actor, BatchFailed, RecordService, RowResult, UnitOfWork

__all__ = [
    "EVENTS", "RECORD", "SYSTEM", "Actor", "BatchFailed", "DeleteRefused", "Problem", "RecordChange",
    "RecordError", "RecordEvents", "RecordNotFound", "RecordService", "RowResult", "StaleRecord",
    "UnitOfWork", "UnknownObject", "ValidationFailed",
]
