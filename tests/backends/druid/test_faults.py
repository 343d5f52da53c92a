"""Faults of the real local Druid, seen through the API over HTTP.

The broker is stopped with `druid/druid.sh stop broker` under a running app: the fields that
Druid answers fail with BACKEND_UNAVAILABLE within the backend's timeout, the snapshot fields
of the same request still resolve with their exact values, and /readyz answers 503 naming the
backend. After `druid/druid.sh start broker` the same app (same connection pools) becomes
ready by itself and answers the same numbers again, computed by Druid (the caches are off).
Slow and erroring Druid answers are covered in test_cluster.py (client and Druid-side
timeouts, malformed queries).

Needs `make druid-up`; skipped otherwise (failed with KEYART_REQUIRE_DRUID=1), and skipped
when the broker is not a process of druid/druid.sh (so the test cannot stop it).
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from keyart.backends.druid import DruidBackend
from keyart.warehouse.layout import Warehouse
from tests.backends.druid.loads import TINY_PREFIX
from tests.druid_support import DruidEndpoints
from tests.e2e.harness import api, codes, data, gql
from tests.truth import Exact, Truth, truth_of

pytestmark = [pytest.mark.druid, pytest.mark.slow]

DRUID_SH = Path(__file__).resolve().parents[3] / "druid" / "druid.sh"
TIMEOUT_S = 3.0  # the API's Druid timeout in these tests
READY_WITHIN_S = 120.0  # how long the app may take to see the restarted broker
SCRIPT_TIMEOUT_S = 600.0  # druid.sh waits up to DRUID_START_TIMEOUT (300 s) for a start

QUERY = """query($id: ID!, $w: DateRange!) {
    snap: asset(id: $id) {
        id allTime { impressions qualifiedPlays playSeconds } availability { countries } }
    olap: asset(id: $id) { metrics(window: $w) {
        impressions qualifiedPlays playSeconds uniqueImpressions { value lower upper } } }
}"""


def druid_sh(*args: str) -> str:
    """Run druid/druid.sh and return its output; fails the test when the script fails."""
    done = subprocess.run(
        [str(DRUID_SH), *args],
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT_S,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"druid.sh {' '.join(args)} exited {done.returncode}:\n{output}"
    return output


@pytest.fixture
def local_broker(druid: DruidEndpoints) -> DruidEndpoints:
    """The cluster, when its broker is the one druid/druid.sh runs (and can stop)."""
    status = subprocess.run(
        [str(DRUID_SH), "status"], capture_output=True, text=True, timeout=60, check=False
    )
    fields = next((ln.split() for ln in status.stdout.splitlines() if ln.startswith("broker ")), [])
    ours = len(fields) >= 3 and fields[2] != "-"
    if not ours or not druid.broker.endswith(":8082"):
        pytest.skip(f"the broker at {druid.broker} is not run by druid/druid.sh: {fields}")
    return druid


def assert_snapshot_fields(snap: dict[str, Any], asset: str, truth: Truth) -> None:
    """allTime and availability equal the exact all-time figures of the asset."""
    days = truth.days()
    whole = truth.metrics(days[0], days[-1], assets={asset})
    assert snap["id"] == asset
    assert snap["allTime"] == {
        "impressions": whole.impressions,
        "qualifiedPlays": whole.qualified_plays,
        "playSeconds": whole.play_seconds,
    }
    assert snap["availability"]["countries"] == truth.countries_of_asset(asset)


def assert_window_metrics(metrics: dict[str, Any], exact: Exact) -> None:
    """Counts equal the exact ones; the distinct estimate's bounds hold the exact count."""
    assert metrics["impressions"] == exact.impressions > 0
    assert metrics["qualifiedPlays"] == exact.qualified_plays
    assert metrics["playSeconds"] == exact.play_seconds
    unique = metrics["uniqueImpressions"]
    assert unique["lower"] <= exact.unique_impressions <= unique["upper"], (unique, exact)


async def wait_ready(client: Any, within_s: float) -> dict[str, Any]:
    """Poll /readyz until it answers 200; its body (fails after `within_s`)."""
    deadline = time.monotonic() + within_s
    while True:
        ready = await client.get("/readyz")
        if ready.status_code == 200:
            body: dict[str, Any] = ready.json()
            return body
        assert time.monotonic() < deadline, f"not ready after {within_s}s: {ready.text}"
        await asyncio.sleep(1.0)


async def test_broker_outage_fails_only_its_fields_and_heals_by_itself(
    local_broker: DruidEndpoints, tiny_loaded: Path, tiny_raw: Path
) -> None:
    truth = truth_of(tiny_raw)
    asset = truth.busiest("asset", 1)[0]
    days = truth.days()
    start, end = days[len(days) // 4], days[3 * len(days) // 4]
    exact = truth.metrics(start, end, assets={asset})
    variables = {"id": asset, "w": {"start": start.isoformat(), "end": end.isoformat()}}
    lg_k = Warehouse(tiny_loaded).current().lg_k

    def backend() -> DruidBackend:
        return DruidBackend(
            local_broker.broker, lg_k=lg_k, datasource_prefix=TINY_PREFIX, timeout_s=TIMEOUT_S
        )

    served = backend()
    # a second pool that is idle through the outage: its first requests afterwards meet
    # keep-alive connections that the old broker process closed
    idle = backend()
    try:
        # cache_ttl_s=0: no result or response cache, so every answer comes from Druid
        async with api(tiny_loaded, backend=served, cache_ttl_s=0, snapshot_poll_s=3600) as client:
            executor = client.app.state.keyart.executor  # type: ignore[attr-defined]

            # (a) healthy
            healthy = await data(client, QUERY, variables)
            assert_snapshot_fields(healthy["snap"], asset, truth)
            assert_window_metrics(healthy["olap"]["metrics"], exact)
            assert (await client.get("/readyz")).status_code == 200
            await idle.ping()
            assert executor.backend_queries == 1

            # (b) broker down: only the Druid field fails, in time
            await asyncio.to_thread(druid_sh, "stop", "broker")
            started = time.monotonic()
            payload = await gql(client, QUERY, variables)
            elapsed = time.monotonic() - started
            assert codes(payload) == ["BACKEND_UNAVAILABLE"], payload
            assert payload["errors"][0]["path"] == ["olap", "metrics"]
            assert payload["data"]["olap"] is None
            assert payload["data"]["snap"] == healthy["snap"]
            assert elapsed < TIMEOUT_S, f"answered after {elapsed:.2f}s"
            assert executor.backend_queries == 2  # the failure was Druid's, not a cached one
            started = time.monotonic()
            ready = await client.get("/readyz")
            assert time.monotonic() - started < TIMEOUT_S
            assert ready.status_code == 503
            body = ready.json()
            assert body["status"] == "not ready"
            assert body["backend"] == "druid"
            assert any(r.startswith("backend druid: ") for r in body["reasons"]), body

            # (c) broker back: the same app recovers without a restart
            await asyncio.to_thread(druid_sh, "start", "broker")
            await wait_ready(client, READY_WITHIN_S)
            recovered = await data(client, QUERY, variables)
            assert recovered == healthy
            assert executor.backend_queries == 3
            await idle.ping()
    finally:
        await served.aclose()
        await idle.aclose()
        # later tests need the broker, whatever happened above (a no-op when it runs)
        druid_sh("start", "broker")
