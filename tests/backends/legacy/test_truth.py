"""End to end: the legacy backend over an ingested tiny warehouse equals the exact truth
computed independently from the raw files (tests/truth.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from keyart.backends.legacy import LegacyBackend
from tests.backends import handmade
from tests.backends.cases import Universe, cases, fine_grained
from tests.backends.served import STORAGES, opened

CASE_NAMES = sorted(cases(handmade.UNIVERSE))


@pytest.fixture(params=STORAGES)
async def legacy(
    tiny_warehouse: Path, tiny_serving_cache: Path, request: pytest.FixtureRequest
) -> AsyncIterator[LegacyBackend]:
    """The backend over the day files, or over the version's serving copy (built in a
    folder of this test session: the shared warehouse stays untouched)."""
    async with opened(
        LegacyBackend, tiny_warehouse, request.param, cache_dir=tiny_serving_cache, timeout=300
    ) as backend:
        yield backend


@pytest.mark.parametrize("name", CASE_NAMES)
async def test_equals_raw_truth(
    legacy: LegacyBackend, tiny_truth: handmade.Dataset, tiny_universe: Universe, name: str
) -> None:
    query = cases(tiny_universe)[name]
    result = await legacy.execute(query)
    handmade.compare(result, handmade.oracle(tiny_truth, query), query, exact=True)


async def test_fine_grained_equals_raw_truth(
    legacy: LegacyBackend, tiny_truth: handmade.Dataset, tiny_universe: Universe
) -> None:
    query = fine_grained(tiny_universe)
    result = await legacy.execute(query)
    assert len(result.rows) > 1000
    handmade.compare(result, handmade.oracle(tiny_truth, query), query, exact=True)
