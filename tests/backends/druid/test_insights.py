"""Insights answered by Druid: the generated `demo` world loaded under its own datasource
prefix finds exactly what the generator planted, as the embedded and legacy backends do
(tests/resolvers/test_insights.py). Needs `make druid-up`; skipped otherwise."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from keyart.backends.druid import DruidBackend
from keyart.etl.generator import GenerateSummary
from keyart.warehouse.layout import Warehouse
from tests.backends.druid.loads import load
from tests.druid_support import DruidEndpoints
from tests.e2e.harness import api, data
from tests.resolvers.test_insights import APPEAL, TITLES, everything

pytestmark = [pytest.mark.druid, pytest.mark.slow]

INSIGHTS_PREFIX = "keyart_test_insights_"


@pytest.fixture(scope="module")
def loaded(druid: DruidEndpoints, insights_world: tuple[Path, GenerateSummary]) -> Path:
    warehouse = insights_world[0]
    load(druid, warehouse, INSIGHTS_PREFIX)
    return warehouse


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(druid: DruidEndpoints, loaded: Path) -> AsyncIterator[httpx.AsyncClient]:
    lg_k = Warehouse(loaded).current().lg_k
    backend = DruidBackend(druid.broker, lg_k=lg_k, datasource_prefix=INSIGHTS_PREFIX)
    try:
        async with api(loaded, backend=backend, snapshot_poll_s=3600) as c:
            yield c
    finally:
        await backend.aclose()  # the app closes only the backends it creates


@pytest.mark.asyncio(loop_scope="module")
async def test_druid_finds_exactly_the_planted_outliers_and_clickbait(
    client: httpx.AsyncClient, insights_world: tuple[Path, GenerateSummary]
) -> None:
    summary = insights_world[1]
    window = everything(summary)
    for metric, planted in (
        ("TAKE_RATE", summary.outlier_asset_ids),
        ("AUTHENTICITY", summary.clickbait_asset_ids),
    ):
        found = await data(client, TITLES, {"w": window, "m": metric})
        edges = found["titles"]["edges"]
        flagged = {o["asset"]["id"] for e in edges for o in e["node"]["outliers"]}
        assert flagged == set(planted), metric
    verdicts = await data(client, APPEAL, {"w": window})
    clickbait = {
        a["id"]
        for e in verdicts["titles"]["edges"]
        for a in e["node"]["assets"]
        if a["appeal"]["verdict"] == "CLICKBAIT"
    }
    assert clickbait == set(summary.clickbait_asset_ids)
