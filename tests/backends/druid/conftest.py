"""Fixtures shared by the tests against the real local Druid cluster: its endpoints, and the
hand-built and the ETL's tiny warehouse each loaded into it once per session (under their own
datasource prefixes)."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from keyart.backends.druid.ingest import LoadReport, ingest_warehouse
from keyart.cli import main as cli_main
from tests.backends import handmade
from tests.druid_support import DruidEndpoints, druid_endpoints_or_skip

# KEYART_TEST_DRUID_PREFIX lets parallel checkouts sharing one cluster load their own copies
_PREFIX = os.environ.get("KEYART_TEST_DRUID_PREFIX", "keyart_test_")
HANDMADE_PREFIX = f"{_PREFIX}hm_"
TINY_PREFIX = f"{_PREFIX}tiny_"
LOAD_TIMEOUT_S = 600.0


@pytest.fixture(scope="session")
def druid() -> DruidEndpoints:
    """The live cluster (skips the test when it is down; fails with KEYART_REQUIRE_DRUID=1)."""
    return druid_endpoints_or_skip()


def load(druid: DruidEndpoints, warehouse: Path, prefix: str) -> list[LoadReport]:
    """Ingest a warehouse's rollups into Druid under `prefix`, waiting until they are served."""
    return asyncio.run(
        ingest_warehouse(
            warehouse,
            druid.overlord,
            druid.broker,
            coordinator_url=druid.coordinator,
            timeout_s=LOAD_TIMEOUT_S,
            datasource_prefix=prefix,
            progress=None,
        )
    )


@dataclass(frozen=True)
class Loaded:
    """The hand-built events, their warehouse, and the load reports of its ingestion."""

    data: handmade.Dataset
    warehouse: Path
    reports: list[LoadReport]


@pytest.fixture(scope="session")
def handmade_loaded(druid: DruidEndpoints, tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    """The hand-built dataset published as a warehouse and loaded under HANDMADE_PREFIX
    (read-only for tests: the warehouse folder is shared)."""
    data = handmade.make_dataset()
    root = tmp_path_factory.mktemp("druid-handmade") / "wh"
    handmade.publish(root, data)
    return Loaded(data, root, load(druid, root, HANDMADE_PREFIX))


@pytest.fixture(scope="session")
def tiny_loaded(druid: DruidEndpoints, tiny_warehouse: Path) -> Path:
    """The session's tiny warehouse (snapshot included) loaded under TINY_PREFIX with
    `keyart druid ingest`, as a user would run it."""
    code = cli_main(
        [
            "druid", "ingest", "--warehouse", str(tiny_warehouse), "--druid", druid.overlord,
            "--broker", druid.broker, "--timeout", str(LOAD_TIMEOUT_S),
            "--datasource-prefix", TINY_PREFIX,
        ]
    )  # fmt: skip
    assert code == 0
    return tiny_warehouse
