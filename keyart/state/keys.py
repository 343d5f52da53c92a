"""API keys in the state store: create (the secret is shown once), list, revoke, verify.

A key reads `ka_<id>_<secret>`: the id is public (lists, logs), the secret is 256 random
bits of which only a salted SHA-256 is stored — a fast hash is enough for a secret that
cannot be guessed, and keeps verification cheap.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from keyart.errors import BadUserInput, NotFound, StateError
from keyart.state.store import StateStore
from keyart.state.tables import api_keys

Scope = Literal["read", "admin"]
SCOPES: tuple[Scope, ...] = ("read", "admin")
PREFIX = "ka"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@:/-]{0,199}$")
_TOKEN = re.compile(r"^ka_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One key as listed: everything but the secret."""

    id: str
    name: str
    scope: Scope
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        """Not revoked."""
        return self.revoked_at is None


def _digest(salt: bytes, secret: str) -> bytes:
    return hashlib.sha256(salt + secret.encode()).digest()


class KeyStore:
    """The api_keys table of one state store."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def create(self, name: str, scope: str) -> tuple[ApiKey, str]:
        """A new key and its secret token (the only time the token exists in clear)."""
        if scope not in SCOPES:
            raise BadUserInput(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
        if not _NAME.match(name):
            raise BadUserInput(
                f"key name {name!r} must be 1-200 letters, digits, spaces or ._@:/- "
                "and start with a letter or digit"
            )
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        key = ApiKey(key_id, name, scope, datetime.now(UTC))
        try:
            with self.store.engine.begin() as conn:
                conn.execute(
                    api_keys.insert().values(
                        id=key.id,
                        name=key.name,
                        scope=key.scope,
                        salt=salt,
                        secret_hash=_digest(salt, secret),
                        created_at=key.created_at,
                    )
                )
        except IntegrityError as exc:
            raise BadUserInput(f"an active key named {name!r} already exists") from exc
        except SQLAlchemyError as exc:
            raise StateError(f"could not store the new key: {exc}") from exc
        return key, f"{PREFIX}_{key_id}_{secret}"

    def list(self, *, include_revoked: bool = True) -> list[ApiKey]:
        """Every key, oldest first."""
        query = select(
            api_keys.c.id,
            api_keys.c.name,
            api_keys.c.scope,
            api_keys.c.created_at,
            api_keys.c.revoked_at,
        ).order_by(api_keys.c.created_at, api_keys.c.id)
        if not include_revoked:
            query = query.where(api_keys.c.revoked_at.is_(None))
        try:
            with self.store.engine.connect() as conn:
                rows = conn.execute(query).all()
        except SQLAlchemyError as exc:
            raise StateError(f"could not list keys: {exc}") from exc
        return [
            ApiKey(r.id, r.name, r.scope, _utc(r.created_at), _utc_or_none(r.revoked_at))
            for r in rows
        ]

    def revoke(self, name_or_id: str) -> ApiKey:
        """Revoke the active key with this name or id; NotFound when there is none."""
        now = datetime.now(UTC)
        active = api_keys.c.revoked_at.is_(None)
        try:
            with self.store.engine.begin() as conn:
                row = conn.execute(
                    select(api_keys.c.id, api_keys.c.name, api_keys.c.scope, api_keys.c.created_at)
                    .where(active)
                    .where((api_keys.c.id == name_or_id) | (api_keys.c.name == name_or_id))
                ).first()
                if row is None:
                    raise NotFound(f"no active key has the name or id {name_or_id!r}")
                conn.execute(update(api_keys).where(api_keys.c.id == row.id).values(revoked_at=now))
        except SQLAlchemyError as exc:
            raise StateError(f"could not revoke {name_or_id!r}: {exc}") from exc
        return ApiKey(row.id, row.name, row.scope, _utc(row.created_at), now)

    def verify(self, token: str) -> ApiKey | None:
        """The active key this token belongs to, or None (malformed, unknown, revoked or a
        wrong secret — callers must not tell these apart to clients)."""
        match = _TOKEN.match(token)
        if match is None:
            return None
        key_id, secret = match.groups()
        try:
            with self.store.engine.connect() as conn:
                row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
        except SQLAlchemyError as exc:
            raise StateError(f"could not look up key {key_id}: {exc}") from exc
        if row is None:
            return None
        # compared in constant time even for revoked keys: timing reveals nothing either way
        good = hmac.compare_digest(_digest(bytes(row.salt), secret), bytes(row.secret_hash))
        if not good or row.revoked_at is not None:
            return None
        return ApiKey(row.id, row.name, row.scope, _utc(row.created_at))


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; they were written in UTC
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _utc_or_none(moment: datetime | None) -> datetime | None:
    return None if moment is None else _utc(moment)


__all__ = ["SCOPES", "ApiKey", "KeyStore", "Scope"]
