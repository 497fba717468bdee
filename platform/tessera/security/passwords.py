"""Secrets: password hashing with argon2id, the password rules, and API tokens.

* Passwords are hashed with argon2id (argon2-cffi's :class:`~argon2.PasswordHasher`), with the
  parameters of an argon2 profile: ``RFC_9106_LOW_MEMORY`` (64 MiB, 3 passes, 4 lanes) unless
  the ``PASSWORD_PROFILE`` setting names another. A hash made with other parameters is
  replaced at the next successful login.
* API tokens are 32 random bytes, URL-safe, prefixed ``tsr_`` so a leaked one is recognisable
  (secret scanners, log reviews). Only their SHA-256 is stored: a token has 256 bits of
  entropy, so a fast hash cannot be reversed by guessing, and lookups stay one index probe.
"""

from __future__ import annotations

import hashlib
import secrets

import argon2
from argon2 import PasswordHasher

from .errors import PASSWORD_TOO_LONG, PASSWORD_TOO_SHORT, PasswordRejected

#: the argon2 profile used unless the PASSWORD_PROFILE setting names another
DEFAULT_PROFILE = "RFC_9106_LOW_MEMORY"
#: the argon2 profiles PASSWORD_PROFILE may name (CHEAPEST is for tests only)
PROFILES = ("RFC_9106_LOW_MEMORY", "RFC_9106_HIGH_MEMORY", "CHEAPEST")
MIN_PASSWORD_LENGTH = 10
#: argon2 hashes any length; the cap keeps one request from hashing megabytes
MAX_PASSWORD_LENGTH = 1024

TOKEN_PREFIX = "tsr_"
#: how many characters of a token are kept in clear to tell tokens apart in lists
#: (``tsr_`` and the first 8 characters of the secret: 48 of its 256 bits)
TOKEN_SHOWN = len(TOKEN_PREFIX) + 8
_TOKEN_BYTES = 32


def make_hasher(profile: str | None = None) -> PasswordHasher:
    """An argon2id hasher with the parameters of ``profile`` (see :data:`PROFILES`)."""
    name = (profile or DEFAULT_PROFILE).strip().upper()
    if name not in PROFILES:
        raise ValueError(f"PASSWORD_PROFILE must be one of {', '.join(PROFILES)}, not {profile!r}")
    parameters = getattr(argon2.profiles, name)
    assert parameters.type is argon2.Type.ID
    return PasswordHasher.from_parameters(parameters)


def check_password_rules(password: object) -> str:
    """The password if it may be used; else :class:`PasswordRejected` (which never holds it)."""
    if not isinstance(password, str):
        raise TypeError("a password is a str")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordRejected(PASSWORD_TOO_SHORT, count=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordRejected(PASSWORD_TOO_LONG, count=MAX_PASSWORD_LENGTH)
    return password


def new_token() -> str:
    """A new API token: ``tsr_`` and 43 URL-safe characters (32 random bytes)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)


def token_digest(token: str) -> str:
    """What is stored of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(value: object) -> bool:
    return isinstance(value, str) and value.startswith(TOKEN_PREFIX) and 20 <= len(value) <= 200
