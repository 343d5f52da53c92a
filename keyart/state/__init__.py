"""The state store: operational records (API keys; routing rule sets, shadow mismatches
and validation runs in rollout.py; alert rules and deliveries later) in SQLite or
PostgreSQL, schema managed by Alembic migrations.

A new kind of record gets its Table in tables.py, a migration in migrations/versions/
(next number, `down_revision` the current head) and a small store class over
`StateStore.engine` like keys.KeyStore; tests/state/test_store.py checks that the
migrations build exactly the tables declared.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keyart.state.keys import ApiKey, KeyStore
    from keyart.state.store import StateStore, state_url

_HOMES = {"ApiKey": "keys", "KeyStore": "keys", "StateStore": "store", "state_url": "store"}


def __getattr__(name: str) -> Any:
    # loaded on first use: `keyart --help` imports keyart.state.cli and must not pay for
    # SQLAlchemy and Alembic
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"keyart.state.{_HOMES[name]}"), name)


__all__ = ["ApiKey", "KeyStore", "StateStore", "state_url"]
