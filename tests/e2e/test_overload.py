"""Overload and abuse against a real `keyart serve` over TCP: 32 clients missing every cache
are shed with 503 OVERLOADED while the admitted answers stay exact and /healthz answers;
a 50 MB body is refused with 413 before it is read; the amplification query is refused
by its cost before any work."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import statistics
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

import httpx
import pytest

from tests.e2e.server_process import ServerProcess
from tests.truth import Truth, truth_of

pytestmark = pytest.mark.slow

CLIENTS = 32
SATURATE_S = 3.0
QUERY = """query($id: ID!, $w: DateRange!) { asset(id: $id) { id
    metrics(window: $w) { impressions qualifiedPlays }
    byCountry(window: $w) { country metrics { impressions } }
    timeseries(window: $w) { date metrics { impressions } } } }"""


@pytest.fixture(scope="module")
def truth(tiny_raw: Path) -> Truth:
    return truth_of(tiny_raw)


@pytest.fixture(scope="module")
def server(tiny_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("overload") / "serve.log"
    env = {
        "KEYART_CACHE_TTL_S": "0",  # every request reaches the backend
        "KEYART_QUEUE_TIMEOUT_S": "0.5",
    }
    args = ["serve", "--warehouse", str(tiny_warehouse), "--max-inflight", "2"]
    process = ServerProcess([*args, "--max-queued", "2"], log, env)
    try:
        process.wait_ready()
        yield process.url
    finally:
        process.stop()


async def _saturate(url: str, truth: Truth) -> tuple[list[httpx.Response], list[float]]:
    """CLIENTS clients posting distinct uncached questions, and a /healthz prober."""
    days = truth.days()
    assets = sorted(truth.assets)
    stop = 0.0  # set when the prober is up
    answers: list[httpx.Response] = []
    limits = httpx.Limits(max_connections=CLIENTS + 1)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        async def worker(k: int) -> None:
            i = k
            while time.monotonic() < stop:
                start = days[i % 7]
                window = {"start": start.isoformat(), "end": days[-1 - i % 5].isoformat()}
                variables = {"id": assets[i % len(assets)], "w": window}
                answers.append(
                    await client.post("/graphql", json={"query": QUERY, "variables": variables})
                )
                i += CLIENTS

        # the prober runs in a process of its own: this one is busy being 32 clients
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            await asyncio.wrap_future(pool.submit(probe_health, url, 0.0))  # started
            probe = asyncio.wrap_future(pool.submit(probe_health, url, SATURATE_S))
            stop = time.monotonic() + SATURATE_S
            await asyncio.gather(*(worker(k) for k in range(CLIENTS)))
            health = await probe
    return answers, health


def probe_health(url: str, seconds: float) -> list[float]:
    """Latencies (s) of /healthz asked every 50 ms for `seconds`."""
    latencies: list[float] = []
    with httpx.Client(base_url=url, timeout=30) as client:
        stop = time.monotonic() + seconds
        while time.monotonic() < stop:
            started = time.perf_counter()
            response = client.get("/healthz")
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200
            time.sleep(0.05)
    return latencies


async def test_overload_is_shed_and_admitted_answers_stay_exact(server: str, truth: Truth) -> None:
    answers, health = await _saturate(server, truth)
    shed = [r for r in answers if r.status_code == 503]
    admitted = [r for r in answers if r.status_code == 200]
    assert len(shed) + len(admitted) == len(answers), {r.status_code for r in answers}
    assert shed and admitted, (len(shed), len(admitted))
    for response in shed:
        assert response.headers["retry-after"] == "1"
        (error,) = response.json()["errors"]
        assert error["extensions"]["code"] == "OVERLOADED"
        assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    for response in admitted:
        payload = response.json()
        assert not payload.get("errors"), payload["errors"]
        asset = payload["data"]["asset"]
        variables = json.loads(response.request.content)["variables"]  # its own question
        start = date.fromisoformat(variables["w"]["start"])
        end = date.fromisoformat(variables["w"]["end"])
        exact = truth.metrics(start, end, assets={asset["id"]})
        assert asset["metrics"]["impressions"] == exact.impressions
        assert asset["metrics"]["qualifiedPlays"] == exact.qualified_plays
        assert sum(p["metrics"]["impressions"] for p in asset["timeseries"]) == exact.impressions
    # /healthz never waits for GraphQL work (generous bounds: the machine is shared)
    print(
        f"/healthz under load: {len(health)} probes, median {statistics.median(health):.3f}s, "
        f"max {max(health):.3f}s; {len(shed)} shed, {len(admitted)} admitted"
    )
    assert statistics.median(health) < 0.25, sorted(health)[-5:]
    assert max(health) < 2.0, sorted(health)[-5:]


def test_a_huge_body_is_refused_before_it_is_read(server: str) -> None:
    body = b'{"query": "' + b" " * (50 << 20) + b'{ dataVersion }"}'
    started = time.perf_counter()
    response = httpx.post(
        server + "/graphql", content=body, headers={"content-type": "application/json"}, timeout=60
    )
    assert response.status_code == 413, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert time.perf_counter() - started < 10
    assert httpx.get(server + "/healthz", timeout=5).status_code == 200


def test_the_amplification_query_is_refused_by_its_cost(server: str) -> None:
    window = '{start: "2025-02-11", end: "2026-02-10"}'
    metrics = "metrics { impressions uniqueImpressions { value lower upper } }"
    fields = (
        f"byAffinity(window: {window}) {{ affinity {metrics} }} "
        f"byCountry(window: {window}) {{ country {metrics} }} "
        f"timeseries(window: {window}) {{ date {metrics} }}"
    )
    query = (
        "{ "
        + " ".join(
            f"a{i}: titles(first: 500) {{ edges {{ node {{ assets {{ id {fields} }} }} }} }}"
            for i in range(4)
        )
        + " }"
    )
    started = time.perf_counter()
    response = httpx.post(server + "/graphql", json={"query": query}, timeout=60)
    elapsed = time.perf_counter() - started
    payload = response.json()
    assert payload["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY", payload
    assert payload["errors"][0]["extensions"]["cost"] > payload["errors"][0]["extensions"]["limit"]
    assert len(response.content) < 2000 and elapsed < 5
