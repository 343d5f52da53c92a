"""The tables of the state store (SQLAlchemy Core); migrations/ creates and evolves them."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    LargeBinary,
    MetaData,
    String,
    Table,
)

metadata = MetaData()

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),  # public part of the key, shown in lists
    Column("name", String(200), nullable=False),
    Column("scope", String(16), nullable=False),
    Column("salt", LargeBinary(32), nullable=False),
    Column("secret_hash", LargeBinary(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

# one active key per name; a revoked key's name can be reused
Index(
    "uq_api_keys_active_name",
    api_keys.c.name,
    unique=True,
    sqlite_where=api_keys.c.revoked_at.is_(None),
    postgresql_where=api_keys.c.revoked_at.is_(None),
)

__all__ = ["api_keys", "metadata"]
