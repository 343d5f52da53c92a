"""The tables of the state store (SQLAlchemy Core); migrations/ creates and evolves them."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
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

# routing rule sets, append-only: the newest row is in force; `previous_id` is the set that
# was in force before it (what a rollback restores)
routing_rule_sets = Table(
    "routing_rule_sets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rules", Text, nullable=False),  # JSON, see keyart/rollout/routing.py
    Column("action", String(16), nullable=False),  # set or rollback
    Column("previous_id", Integer, nullable=True),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# one row per metric of a shadowed query that disagreed with the primary answer
shadow_mismatches = Table(
    "shadow_mismatches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("data_version", String(200), nullable=False),
    Column("primary_backend", String(16), nullable=False),
    Column("shadow_backend", String(16), nullable=False),
    Column("query", Text, nullable=False),  # the IR query's canonical JSON
    Column("grp", Text, nullable=False),  # bucket and dimension values
    Column("metric", String(32), nullable=False),
    Column("primary_value", Float, nullable=False),
    Column("shadow_value", Float, nullable=False),
    Column("tolerance", Float, nullable=False),
    Column("excess", Float, nullable=False),
)
Index("ix_shadow_mismatches_recorded_at", shadow_mismatches.c.recorded_at)

validation_runs = Table(
    "validation_runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("backend", String(16), nullable=False),
    Column("against", String(16), nullable=False),
    Column("warehouse_version", String(200), nullable=False),
    Column("questions", Integer, nullable=False),
    Column("comparisons", Integer, nullable=False),
    Column("disagreements", Integer, nullable=False),
    Column("passed", Boolean, nullable=False),
)

validation_results = Table(
    "validation_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(32), ForeignKey("validation_runs.id"), nullable=False),
    Column("question", Text, nullable=False),
    Column("grp", Text, nullable=False),
    Column("metric", String(32), nullable=False),
    Column("value", Float, nullable=False),  # the backend under validation
    Column("against_value", Float, nullable=False),
    Column("tolerance", Float, nullable=False),
    Column("excess", Float, nullable=False),
)
Index("ix_validation_results_run_id", validation_results.c.run_id)

__all__ = [
    "api_keys",
    "metadata",
    "routing_rule_sets",
    "shadow_mismatches",
    "validation_results",
    "validation_runs",
]
