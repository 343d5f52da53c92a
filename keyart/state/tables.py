"""The tables of the state store (SQLAlchemy Core); migrations/ creates and evolves them."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
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
    "routing_rule_sets",
    "shadow_mismatches",
    "validation_results",
    "validation_runs",
]
