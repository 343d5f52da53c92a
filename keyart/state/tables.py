"""The tables of the state store (SQLAlchemy Core); migrations/ creates and evolves them."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
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

# notifications (keyart/alerts): rules, one evaluation per (rule, data version), the
# alerts found and the webhook deliveries still owed (an outbox: durable before sending)
alert_rules = Table(
    "alert_rules",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("spec", Text, nullable=False),  # the rule's input as JSON (kind, scope, metric…)
    Column("secret", String(64), nullable=False),  # HMAC key of its webhooks
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

alert_evaluations = Table(
    "alert_evaluations",
    metadata,
    Column("rule_id", String(32), primary_key=True),
    Column("version", String(100), primary_key=True),  # warehouse version evaluated
    Column("status", String(16), nullable=False),  # running | done
    Column("owner", String(100), nullable=False),
    Column("lease_until", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("found", Integer, nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
)

alerts = Table(
    "alerts",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("id", String(32), nullable=False, unique=True),
    Column("rule_id", String(32), nullable=False),
    Column("asset_id", String(200), nullable=False),
    Column("title_id", String(200), nullable=False),
    Column("finding", String(200), nullable=False),
    Column("version", String(100), nullable=False),
    Column("days", Text, nullable=False),  # JSON list of the days evaluated
    Column("values", Text, nullable=False),  # JSON object of metric values
    Column("reason", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("cleared_at", DateTime(timezone=True), nullable=True),
)

# one open alert per (rule, asset, finding): it fires once until it clears
Index(
    "uq_alerts_open_finding",
    alerts.c.rule_id,
    alerts.c.asset_id,
    alerts.c.finding,
    unique=True,
    sqlite_where=alerts.c.cleared_at.is_(None),
    postgresql_where=alerts.c.cleared_at.is_(None),
)

deliveries = Table(
    "alert_deliveries",
    metadata,
    Column("id", String(32), primary_key=True),  # X-Keyart-Delivery
    Column("alert_id", String(32), ForeignKey("alerts.id"), nullable=True),
    Column("rule_id", String(32), nullable=False),
    Column("url", Text, nullable=False),
    Column("body", Text, nullable=False),  # the exact bytes signed and sent
    Column("status", String(16), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False),
    Column("claimed_until", DateTime(timezone=True), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("response_status", Integer, nullable=True),
    Column("latency_s", Float, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
)
Index("ix_alert_deliveries_status", deliveries.c.status)

__all__ = [
    "alert_evaluations",
    "alert_rules",
    "alerts",
    "api_keys",
    "deliveries",
    "metadata",
]
