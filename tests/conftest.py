"""Session-wide fixtures: one tiny raw dataset and one warehouse built from it, shared by
every test folder (tests that modify a warehouse must build their own copy)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.e2e.redis_server import RedisServer
    from tests.rollout.damage import Damaged
    from tests.state.postgres_server import PostgresServer

TINY_SEED = 7


@pytest.fixture(scope="session")
def tiny_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `tiny` synthetic profile written as a raw directory (read-only for tests)."""
    from keyart.etl.generator import generate

    out = tmp_path_factory.mktemp("tiny") / "raw"
    generate("tiny", out, seed=TINY_SEED)
    return out


@pytest.fixture(scope="session")
def tiny_warehouse(tiny_raw: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse ingested from `tiny_raw` with default settings, snapshot published."""
    from keyart.config import EtlSettings
    from keyart.etl.embedded import ingest

    wh = tmp_path_factory.mktemp("tiny-wh") / "warehouse"
    ingest(tiny_raw, wh, EtlSettings(), progress=False, publish_snapshot=True)
    return wh


@pytest.fixture(scope="session")
def damaged(tiny_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Damaged:
    """A copy of `tiny_warehouse` with one day's rollups dropped and its events intact, the
    planted difference of the rollout tests (read-only for tests)."""
    from tests.rollout.damage import damage_copy

    return damage_copy(tiny_warehouse, tmp_path_factory.mktemp("damaged") / "warehouse")


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server for the tests of one module (skips when redis cannot be had)."""
    from tests.e2e.redis_server import start_or_skip

    server = start_or_skip(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the session (skips when it cannot be had); tests
    each take their own database from it."""
    from tests.state.postgres_server import start_or_skip

    server = start_or_skip()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty state store: a SQLite file, or a new PostgreSQL database (the
    same tests run over both)."""
    from keyart.state.store import state_url

    if request.param == "sqlite":
        return state_url(tmp_path / "state")
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.create_database()


INSIGHTS_SEED = 7


@pytest.fixture(scope="session")
def insights_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """The `demo` profile (enough traffic per asset for the planted effects to be found)
    ingested into a warehouse with its snapshot; returns (warehouse, generate summary)."""
    from keyart.config import EtlSettings
    from keyart.etl.embedded import ingest
    from keyart.etl.generator import generate

    root = tmp_path_factory.mktemp("insights")
    summary = generate("demo", root / "raw", seed=INSIGHTS_SEED)
    ingest(root / "raw", root / "wh", EtlSettings(), progress=False, publish_snapshot=True)
    return root / "wh", summary
