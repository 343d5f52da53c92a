"""Shadow traffic on real stacks: live answers from the embedded backend replayed on the
exact legacy stack; over the damaged copy, mismatches are recorded for the damaged day's
questions only, counted in /metrics and listed to admins; a full queue drops (counted)."""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from keyart.backends.legacy import LegacyBackend
from keyart.errors import ConfigError
from keyart.query import Dimension, Filter, Interval, MetricQuery
from keyart.rollout.pool import BackendPool
from keyart.rollout.shadow import Shadow
from keyart.state.keys import KeyStore
from keyart.state.store import StateStore, state_url
from keyart.telemetry import ApiMetrics
from keyart.warehouse.layout import Warehouse
from tests.e2e.harness import api, data
from tests.rollout.damage import Damaged

TITLES = "{ titles(first: 4) { edges { node { id } } } }"
DAY_METRICS = """query($ids: [ID!]!, $d: Date!) {
  assets(ids: $ids) { id metrics(window: {start: $d, end: $d}) {
    impressions uniqueImpressions { value } uniquePlayers { value } } }
}"""
MISMATCHES = "{ shadowMismatches(limit: 1000) { query group metric primaryValue shadowValue "
MISMATCHES += "primaryBackend shadowBackend outsideBy } }"


def admin_token(url: str) -> str:
    store = StateStore.open(url)
    try:
        return KeyStore(store).create("ops", "admin")[1]
    finally:
        store.close()


async def test_shadow_finds_the_damaged_day_only(damaged: Damaged, tmp_path: Path) -> None:
    url = state_url(tmp_path / "state")
    token = admin_token(url)
    days = Warehouse(damaged.warehouse).current().days
    async with api(
        damaged.warehouse, state_url=url, shadow_backend="legacy", shadow_sample=1.0,
        allow_anonymous=False,
    ) as client:  # fmt: skip
        client.headers["Authorization"] = f"Bearer {token}"
        titles = [e["node"]["id"] for e in (await data(client, TITLES))["titles"]["edges"]]
        snapshot = client.app.state.keyart.consumer.current()  # type: ignore[attr-defined]
        assets = [a for t in titles for a in snapshot.titles[t].asset_ids]
        for day in days:
            await data(client, DAY_METRICS, {"ids": assets, "d": day.isoformat()})
        shadow = client.app.state.keyart.rollout.shadow  # type: ignore[attr-defined]
        await asyncio.wait_for(shadow.drain(), 120)
        assert shadow.counts["error"] == 0 and shadow.counts["dropped"] == 0
        assert shadow.counts["mismatch"] >= 1
        assert shadow.counts["match"] >= len(days) - 1
        listed = (await data(client, MISMATCHES))["shadowMismatches"]
        metrics_text = (await client.get("/metrics")).text
    assert listed
    asked = {date.fromisoformat(json.loads(m["query"])["i"][0]) for m in listed}
    assert asked == {damaged.day}
    for m in listed:
        assert (m["primaryBackend"], m["shadowBackend"]) == ("embedded", "legacy")
        assert m["shadowValue"] > m["primaryValue"] and m["outsideBy"] > 0
    assert f'keyart_shadow_total{{result="mismatch"}} {float(shadow.counts["mismatch"])}' in (
        metrics_text
    )
    assert 'keyart_backend_answers_total{backend="embedded"}' in metrics_text


async def test_shadow_never_waits_and_drops_when_full(tiny_warehouse: Path) -> None:
    legacy = LegacyBackend(tiny_warehouse)
    metrics = ApiMetrics()
    shadow = Shadow("legacy", BackendPool(legacy, LegacyBackend), 1.0, metrics=metrics,
                    queue_size=2)  # fmt: skip
    days = Warehouse(tiny_warehouse).current().days
    query = MetricQuery(
        Interval(days[0], days[0] + timedelta(days=2)),
        filter=Filter(asset_types=("video",)),
        group_by=(Dimension.TITLE,),
    )
    try:
        truth = await legacy.execute(query)
        shadow.start()
        for _ in range(5):  # offered back to back: the worker has not run yet
            shadow.offer(query, "v", None, "embedded", truth)
        assert shadow.counts["dropped"] == 3
        await asyncio.wait_for(shadow.drain(), 60)
        assert shadow.counts == {"match": 2, "mismatch": 0, "error": 0, "dropped": 3}
        # an unsampled share and the shadow's own answers are never replayed
        Shadow("legacy", BackendPool(legacy, LegacyBackend), 0.0).offer(
            query, "v", None, "x", truth
        )
        shadow.offer(query, "v", None, "legacy", truth)
        assert shadow.queue.empty()
    finally:
        await shadow.aclose()
        await legacy.aclose()
    assert 'keyart_shadow_total{result="dropped"} 3.0' in metrics.render().decode()


async def test_shadow_settings_are_validated(tiny_warehouse: Path) -> None:
    for bad in ({"shadow_sample": 1.5}, {"shadow_backend": "oracle"}):
        with pytest.raises(ConfigError, match="KEYART_SHADOW"):
            async with api(tiny_warehouse, **bad):
                pass
