"""Rollout records: routing rule sets, shadow mismatches, validation runs and results.

Revision ID: 0002_rollout
Revises: 0001_api_keys
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_rollout"
down_revision = "0001_api_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the four rollout tables and their indexes."""
    op.create_table(
        "routing_rule_sets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("rules", sa.Text, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("previous_id", sa.Integer, nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "shadow_mismatches",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data_version", sa.String(200), nullable=False),
        sa.Column("primary_backend", sa.String(16), nullable=False),
        sa.Column("shadow_backend", sa.String(16), nullable=False),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("grp", sa.Text, nullable=False),
        sa.Column("metric", sa.String(32), nullable=False),
        sa.Column("primary_value", sa.Float, nullable=False),
        sa.Column("shadow_value", sa.Float, nullable=False),
        sa.Column("tolerance", sa.Float, nullable=False),
        sa.Column("excess", sa.Float, nullable=False),
    )
    op.create_index("ix_shadow_mismatches_recorded_at", "shadow_mismatches", ["recorded_at"])
    op.create_table(
        "validation_runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("backend", sa.String(16), nullable=False),
        sa.Column("against", sa.String(16), nullable=False),
        sa.Column("warehouse_version", sa.String(200), nullable=False),
        sa.Column("questions", sa.Integer, nullable=False),
        sa.Column("comparisons", sa.Integer, nullable=False),
        sa.Column("disagreements", sa.Integer, nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
    )
    op.create_table(
        "validation_results",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(32), sa.ForeignKey("validation_runs.id"), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("grp", sa.Text, nullable=False),
        sa.Column("metric", sa.String(32), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("against_value", sa.Float, nullable=False),
        sa.Column("tolerance", sa.Float, nullable=False),
        sa.Column("excess", sa.Float, nullable=False),
    )
    op.create_index("ix_validation_results_run_id", "validation_results", ["run_id"])


def downgrade() -> None:
    """Drop the rollout tables."""
    op.drop_index("ix_validation_results_run_id", table_name="validation_results")
    op.drop_table("validation_results")
    op.drop_table("validation_runs")
    op.drop_index("ix_shadow_mismatches_recorded_at", table_name="shadow_mismatches")
    op.drop_table("shadow_mismatches")
    op.drop_table("routing_rule_sets")
