"""Fixtures of the resolver tests: the real tiny warehouse served by the real app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from tests.e2e.harness import api
from tests.truth import Truth, truth_of


@pytest.fixture(scope="module")
def truth(tiny_raw: Path) -> Truth:
    return truth_of(tiny_raw)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(tiny_warehouse: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with api(tiny_warehouse, snapshot_poll_s=3600) as c:
        yield c
