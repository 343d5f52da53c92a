"""The state store: operational records (API keys now; alert rules, deliveries and
validation results later) in SQLite or PostgreSQL, schema managed by Alembic migrations.

A new kind of record gets its Table in tables.py, a migration in migrations/versions/
(next number, `down_revision` the current head) and a small store class over
`StateStore.engine` like keys.KeyStore; tests/state/test_store.py checks that the
migrations build exactly the tables declared.
"""

from keyart.state.keys import ApiKey, KeyStore
from keyart.state.store import StateStore, state_url

__all__ = ["ApiKey", "KeyStore", "StateStore", "state_url"]
