"""Loading warehouses into the real local Druid cluster for tests: the datasource prefixes
of the shared loads, and a load that waits until Druid serves them."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

from keyart.backends.druid.ingest import LoadReport, ingest_warehouse
from tests.backends import handmade
from tests.druid_support import DruidEndpoints

# KEYART_TEST_DRUID_PREFIX lets parallel checkouts sharing one cluster load their own copies
_PREFIX = os.environ.get("KEYART_TEST_DRUID_PREFIX", "keyart_test_")
HANDMADE_PREFIX = f"{_PREFIX}hm_"
TINY_PREFIX = f"{_PREFIX}tiny_"
REPLACE_PREFIX = f"{_PREFIX}replace_"  # loads of tests that replace what they loaded
LOAD_TIMEOUT_S = 600.0


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


__all__ = ["HANDMADE_PREFIX", "LOAD_TIMEOUT_S", "REPLACE_PREFIX", "TINY_PREFIX", "Loaded", "load"]
