"""What the record service raises. Every error can be shown to a person in en or zh-CN.

Field problems carry a message *id* and parameters, not finished text, because the service
runs in requests, jobs and commands alike: the text is rendered in the reader's locale when
shown (:meth:`ValidationFailed.messages`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tessera.i18n import translate
from tessera.metadata.model import Label

#: the key of problems that concern the whole record rather than one field
RECORD = "_record"


def _l(message: str) -> str:
    """Marks a message for extraction into the catalogues; translated when shown."""
    return message


# the messages field problems use (extracted by pybabel with the _l keyword)
REQUIRED = _l("This field is required.")
UNKNOWN_FIELD = _l("There is no field called '%(name)s'.")
READ_ONLY = _l("This field cannot be changed.")
TOO_LONG = _l("At most %(max)s characters.")
BELOW_MIN = _l("Must be at least %(min)s.")
ABOVE_MAX = _l("Must be at most %(max)s.")
TOO_MANY_DIGITS = _l("At most %(digits)s digits before the decimal point.")
NOT_A_NUMBER = _l("Enter a number.")
NOT_A_WHOLE_NUMBER = _l("Enter a whole number.")
NOT_A_DATE = _l("Enter a date like 2026-01-31.")
NOT_A_DATETIME = _l("Enter a date and time like 2026-01-31T09:30:00+08:00.")
NOT_TRUE_FALSE = _l("Enter true or false.")
NOT_TEXT = _l("Enter text.")
NOT_A_LIST = _l("Enter a list of values.")
NOT_AN_OPTION = _l("'%(value)s' is not one of the choices.")
NOT_AN_EMAIL = _l("Enter an email address.")
NOT_A_URL = _l("Enter a web address starting with http:// or https://.")
NOT_A_PHONE = _l("Enter a phone number (digits, spaces, + - ( ) only).")
NO_SUCH_RECORD = _l("There is no %(object)s with id %(id)s.")
NOT_A_RECORD_ID = _l("Enter the id of an existing %(object)s.")
INVALID_VALUE = _l("This value is not valid.")
NOT_UNIQUE = _l("Another %(object)s already has this value.")
NOT_UNIQUE_TOGETHER = _l("Another %(object)s already has this combination of values.")
FORMULA_FAILED = _l("The rule '%(rule)s' could not be checked: %(detail)s")


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem with one field: a message id and its parameters, or a bilingual label
    (validation rules carry their own messages in metadata)."""

    message: str | Label
    params: Mapping[str, Any] = field(default_factory=dict)

    def text(self, locale: str = "en") -> str:
        if isinstance(self.message, Label):
            return self.message(locale)
        # a parameter may itself be bilingual (a picklist option's label): said in the locale too
        params = {k: v(locale) if isinstance(v, Label) else v for k, v in self.params.items()}
        return translate(self.message, locale, **params)


class RecordError(Exception):
    """Base of every error the record service raises on purpose."""

    status = 400

    def message(self, locale: str = "en") -> str:
        return str(self)


class ValidationFailed(RecordError):
    """The record breaks field checks or validation rules; carries all problems at once."""

    status = 422

    def __init__(self, object_name: str, problems: Mapping[str, list[Problem]]) -> None:
        self.object = object_name
        self.problems = {k: list(v) for k, v in problems.items() if v}
        super().__init__(f"{object_name}: " + "; ".join(
            f"{name}: {' '.join(p.text() for p in items)}" for name, items in self.problems.items()))

    def messages(self, locale: str = "en") -> dict[str, list[str]]:
        return {name: [p.text(locale) for p in items] for name, items in self.problems.items()}

    def message(self, locale: str = "en") -> str:
        return translate("The record has problems; see each field.", locale)


class RecordNotFound(RecordError):
    status = 404

    def __init__(self, object_name: str, record_id: Any) -> None:
        self.object, self.record_id = object_name, record_id
        super().__init__(f"there is no {object_name} with id {record_id}")

    def message(self, locale: str = "en") -> str:
        return translate(NO_SUCH_RECORD, locale, object=self.object, id=self.record_id)


class StaleRecord(RecordError):
    """The record changed since the caller read it; nothing was written."""

    status = 409

    def __init__(self, object_name: str, record_id: Any, expected: int, current: int,
                 changed_fields: list[str]) -> None:
        self.object, self.record_id = object_name, record_id
        self.expected, self.current, self.changed_fields = expected, current, changed_fields
        super().__init__(
            f"{object_name} {record_id} changed since version {expected} (now {current}); "
            f"changed fields: {', '.join(changed_fields) or 'none recorded'}")

    def message(self, locale: str = "en") -> str:
        return translate("Someone changed this record since you opened it (%(fields)s). "
                         "Reload it and apply your change again.", locale,
                         fields=", ".join(self.changed_fields))


class DeleteRefused(RecordError):
    """Deleting would break a ``restrict`` lookup from other records."""

    status = 409

    def __init__(self, object_name: str, record_id: Any, blockers: Mapping[str, int]) -> None:
        self.object, self.record_id, self.blockers = object_name, record_id, dict(blockers)
        shown = ", ".join(f"{count} {name}" for name, count in self.blockers.items())
        super().__init__(f"cannot delete {object_name} {record_id}: still referred to by {shown}")

    def message(self, locale: str = "en") -> str:
        shown = ", ".join(f"{count} {name}" for name, count in self.blockers.items())
        return translate("This record cannot be deleted: other records still refer to it (%(refs)s).",
                         locale, refs=shown)


class UnknownObject(RecordError):
    status = 404

    def __init__(self, object_name: str) -> None:
        self.object = object_name
        super().__init__(f"there is no object called '{object_name}'")
