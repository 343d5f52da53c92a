"""The state store: operational records (API keys now; alert rules, deliveries and
validation results later) in SQLite or PostgreSQL, schema managed by Alembic migrations."""

from keyart.state.keys import ApiKey, KeyStore
from keyart.state.store import StateStore, state_url

__all__ = ["ApiKey", "KeyStore", "StateStore", "state_url"]
