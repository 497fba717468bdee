"""What identity and org management raise. Every error can be shown in en or zh-CN.

An error carries a message id and its parameters, never a password or a token: the text is
rendered in the reader's locale when shown (:meth:`IdentityError.message`), so the same error
serves a web form, a command and a job.
"""

from __future__ import annotations

from typing import Any

from tessera.i18n import translate


def _l(message: str) -> str:
    """Marks a message for extraction into the catalogues; translated when shown."""
    return message


PASSWORD_TOO_SHORT = _l("A password needs at least %(count)d characters.")
PASSWORD_TOO_LONG = _l("A password may have at most %(count)d characters.")
PASSWORDS_DIFFER = _l("The two new passwords are not the same.")
PASSWORD_WRONG = _l("The current password is wrong.")
BAD_USERNAME = _l("A user name has 1 to 64 characters: lowercase letters, digits and . _ - @, starting with a letter or digit.")
BAD_ORG_NAME = _l("An org name has 1 to 40 characters: lowercase letters, digits and _, starting with a letter.")
BAD_LOCALE = _l("The language must be one of: %(choices)s.")
BAD_TIME_ZONE = _l("'%(value)s' is not a time zone (use an IANA name such as Asia/Shanghai).")
BAD_EMAIL = _l("Enter an email address.")
BAD_ROLE = _l("A role name has lowercase letters, digits and _, starting with a letter.")
BAD_TOKEN_NAME = _l("A token name has 1 to 100 characters.")
DUPLICATE_USER = _l("The org %(org)s already has a user called %(username)s.")
DUPLICATE_ORG = _l("An org called %(org)s already exists.")
DUPLICATE_USER_ID = _l("A user with id %(id)s already exists.")
UNKNOWN_ORG = _l("There is no org called %(org)s.")
INACTIVE_ORG = _l("The org %(org)s is deactivated.")
UNKNOWN_MANAGER = _l("The manager must be a user of the same org.")
MANAGER_CYCLE = _l("%(username)s cannot report to someone who reports to them.")
UNKNOWN_TOKEN = _l("There is no such token.")


class IdentityError(ValueError):
    """A request about orgs, users or tokens that cannot be done; nothing was changed.

    ``field`` names the input at fault (``password``, ``username``, ...) when there is one.
    """

    def __init__(self, message_id: str, *, field: str | None = None, **params: Any) -> None:
        self.message_id = message_id
        self.params = params
        self.field = field
        super().__init__(translate(message_id, "en", **params))

    def message(self, locale: str = "en") -> str:
        return translate(self.message_id, locale, **self.params)


class PasswordRejected(IdentityError):
    """The password breaks a password rule (the password itself is never part of the error)."""

    def __init__(self, message_id: str, **params: Any) -> None:
        super().__init__(message_id, field="password", **params)


class UnknownOrg(IdentityError, LookupError):
    """No org of that name exists (or it is deactivated)."""

    def __init__(self, org: str, *, inactive: bool = False) -> None:
        self.org = org
        super().__init__(INACTIVE_ORG if inactive else UNKNOWN_ORG, field="org", org=org)
