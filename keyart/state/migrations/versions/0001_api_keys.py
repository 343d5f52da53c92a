"""API keys.

Revision ID: 0001_api_keys
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_api_keys"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create api_keys with its partial unique index on active names."""
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("salt", sa.LargeBinary(32), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "uq_api_keys_active_name",
        "api_keys",
        ["name"],
        unique=True,
        sqlite_where=sa.text("revoked_at IS NULL"),
        postgresql_where=sa.text("revoked_at IS NULL"),
    )


def downgrade() -> None:
    """Drop api_keys."""
    op.drop_index("uq_api_keys_active_name", table_name="api_keys")
    op.drop_table("api_keys")
