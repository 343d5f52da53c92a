"""Opening the state store: migrations applied once, concurrently safe; clear errors."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from keyart.errors import StateError
from keyart.state import StateStore, state_url
from keyart.state.store import head_revision, redacted


def test_open_applies_every_migration(store: StateStore) -> None:
    assert store.revision() == head_revision()
    tables = set(inspect(store.engine).get_table_names())
    assert {"api_keys", "alembic_version"} <= tables


def test_reopening_and_concurrent_opens_are_idempotent(store_url: str) -> None:
    with ThreadPoolExecutor(4) as pool:
        stores = list(pool.map(lambda _: StateStore.open(store_url), range(4)))
    try:
        assert {s.revision() for s in stores} == {head_revision()}
        with stores[0].engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    finally:
        for s in stores:
            s.close()


def test_sqlite_store_lives_in_the_warehouse_in_wal_mode(tmp_path: Path) -> None:
    wh = tmp_path / "wh"
    store = StateStore.open(state_url(wh))
    try:
        assert (wh / "state.sqlite3").is_file()
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
    finally:
        store.close()


def test_postgres_urls_use_psycopg_3() -> None:
    assert state_url(Path("x"), "postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert state_url(Path("x"), "postgres://u@h/db") == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    "url, fragment",
    [
        ("mysql://u@h/db", "only sqlite:/// and postgresql://"),
        ("not a url", "is not valid"),
    ],
)
def test_unsupported_urls_are_refused(url: str, fragment: str) -> None:
    with pytest.raises(StateError, match=fragment):
        StateStore.open(url)


def test_an_unreachable_postgres_is_a_clear_error_without_the_password() -> None:
    from tests.e2e.server_process import free_port

    url = state_url(Path("x"), f"postgresql://u:s3cret@127.0.0.1:{free_port()}/db")
    with pytest.raises(StateError, match="cannot be opened") as caught:
        StateStore.open(url)
    assert "s3cret" not in str(caught.value)
    assert "s3cret" not in redacted(url)


def test_the_migrations_build_exactly_the_declared_tables(store: StateStore) -> None:
    """tables.py (what the code queries) and migrations/ (what databases get) agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from keyart.state.tables import metadata

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
