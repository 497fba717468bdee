"""API tokens of the platform store: made, listed, revoked, and resolved on every API request.

A token is shown once when made; the store keeps its SHA-256 digest (:mod:`.passwords`).
Resolving is on the path of every API request, so it is one prebuilt statement — token, user
and org in one row — and a write at most once a minute per token to mark it used.

A resolved token is remembered for ``cache_seconds`` (``IDENTITY_CACHE_SECONDS``, default 5;
0 turns it off) under its digest, so a busy client does not cost a platform query per request.
Revoking a token, or changing or deactivating a user or an org, forgets what this process
remembered at once (:meth:`PlatformStore.forget`); other processes (gunicorn workers) notice
within that time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from . import errors as E
from .errors import IdentityError
from .passwords import TOKEN_SHOWN, looks_like_token, new_token, token_digest
from .values import TokenInfo, User, token_from_row, user_from_row

if TYPE_CHECKING:
    from .store import PlatformTables

#: last_used_at is written at most this often per token (a busy token is not a write per request)
TOKEN_TOUCH_INTERVAL = dt.timedelta(minutes=1)
#: how long resolved tokens (and who reports to whom) are remembered by default, in seconds
IDENTITY_CACHE_SECONDS = 5.0
#: entries remembered at most (the memory starts again when it is full)
CACHE_SIZE = 10_000
#: labels of the token's columns in the resolving statement (the user's columns keep their names)
_TOKEN = "token_"


def token_columns(tokens: sa.Table) -> list[sa.Column]:
    return [c for c in tokens.c if c.name != "token_hash"]


class TokenStore:
    """The token half of :class:`~tessera.security.store.PlatformStore` (a mixin: it uses the
    store's tables, connections, clock and user lookups)."""

    t: PlatformTables
    clock: Any
    cache_seconds: float = IDENTITY_CACHE_SECONDS
    _resolving: sa.Select | None = None
    _resolved: dict[str, tuple[dt.datetime, User, TokenInfo]]

    def create_token(self, user: Any, name: str) -> tuple[str, TokenInfo]:
        """A new API token for ``user``: the token (show it once, it is not kept) and its info."""
        current = self._require_user(user)
        name = name.strip() if isinstance(name, str) else ""
        if not 1 <= len(name) <= 100:
            raise IdentityError(E.BAD_TOKEN_NAME, field="name")
        plain = new_token()
        tokens = self.t.tokens
        with self._begin() as conn:
            row = conn.execute(tokens.insert().values(
                user_id=current.id, name=name, token_hash=token_digest(plain), prefix=plain[:TOKEN_SHOWN],
                created_at=self.clock()).returning(*token_columns(tokens))).one()
        return plain, token_from_row(row)

    def tokens(self, user: Any) -> list[TokenInfo]:
        """The user's tokens, newest first, revoked ones included."""
        current = self._require_user(user)
        tokens = self.t.tokens
        with self._connect() as conn:
            rows = conn.execute(sa.select(*token_columns(tokens)).where(tokens.c.user_id == current.id)
                                .order_by(tokens.c.created_at.desc(), tokens.c.id.desc()))
            return [token_from_row(row) for row in rows]

    def revoke_token(self, user: Any, token_id: int) -> TokenInfo:
        """Revoke one of the user's tokens (revoking twice keeps the first time)."""
        current = self._require_user(user)
        tokens = self.t.tokens
        try:
            token_id = int(token_id)
        except (TypeError, ValueError):
            raise IdentityError(E.UNKNOWN_TOKEN, field="token") from None
        mine = (tokens.c.id == token_id) & (tokens.c.user_id == current.id)
        with self._begin() as conn:
            conn.execute(tokens.update().where(mine & tokens.c.revoked_at.is_(None)).values(revoked_at=self.clock()))
            row = conn.execute(sa.select(*token_columns(tokens)).where(mine)).first()
        if row is None:
            raise IdentityError(E.UNKNOWN_TOKEN, field="token")
        self.forget()
        return token_from_row(row)

    def resolve_token(self, plain: str) -> tuple[User, TokenInfo] | None:
        """The user and token a presented token stands for; None when unknown, revoked, or the
        user or org is deactivated. Marks the token used (at most once a minute)."""
        if not looks_like_token(plain):
            return None
        digest = token_digest(plain)
        remembered = self._resolved.get(digest)
        now = self.clock()
        if remembered is not None and remembered[0] > now:
            return remembered[1], remembered[2]
        with self._connect() as conn:
            row = conn.execute(self._resolving_statement(), {"digest": digest}).first()
        if row is None or row.token_revoked_at is not None or not (row.active and row.org_active):
            self._resolved.pop(digest, None)
            return None
        user, info = user_from_row(row), token_from_row(row, _TOKEN)
        if info.last_used_at is None or now - info.last_used_at >= TOKEN_TOUCH_INTERVAL:
            tokens = self.t.tokens
            with self._begin() as conn:
                conn.execute(tokens.update().where(tokens.c.id == info.id).values(last_used_at=now))
            info = replace(info, last_used_at=now)
        if self.cache_seconds > 0:
            if len(self._resolved) >= CACHE_SIZE:
                self._resolved.clear()
            self._resolved[digest] = (now + dt.timedelta(seconds=self.cache_seconds), user, info)
        return user, info

    def user_for_token(self, plain: str) -> User | None:
        found = self.resolve_token(plain)
        return found[0] if found else None

    def _resolving_statement(self) -> sa.Select:
        """Token, user and org in one row, by the token's digest (built once per store)."""
        if self._resolving is None:
            tokens, orgs = self.t.tokens, self.t.orgs
            self._resolving = (
                self._user_select()
                .add_columns(*(c.label(_TOKEN + c.name) for c in token_columns(tokens)),
                             orgs.c.active.label("org_active"))
                .join(tokens, tokens.c.user_id == self.t.users.c.id)
                .where(tokens.c.token_hash == sa.bindparam("digest")))
        return self._resolving

