"""The state store under test, once over SQLite and once over a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from keyart.state import StateStore, state_url
from tests.state.postgres_server import PostgresServer, start_or_skip


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the session (each test gets its own database)."""
    server = start_or_skip()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty state store: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return state_url(tmp_path / "warehouse")
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.create_database()


@pytest.fixture
def store(store_url: str) -> Iterator[StateStore]:
    """An open, migrated state store."""
    opened = StateStore.open(state_url(Path("unused"), store_url))
    yield opened
    opened.close()
