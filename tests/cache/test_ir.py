"""The IR result cache: keys, single-flight, bounds, failures, and a real Redis server."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import pytest

from keyart.cache.codec import decode_result
from keyart.cache.ir import ResultCache, result_key
from keyart.query import (
    Dimension,
    Estimate,
    Filter,
    Interval,
    MetricQuery,
    MetricValues,
    QueryResult,
    ResultRow,
)
from keyart.telemetry import ApiMetrics
from tests.e2e.redis_server import RedisServer
from tests.e2e.server_process import free_port

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:aiocache.backends.redis")

RESULT = QueryResult(
    (
        ResultRow(
            date(2024, 1, 1),
            ((Dimension.ASSET, "a1"), (Dimension.AFFINITY, "Drama fans")),
            MetricValues(10, Estimate(7.0, 6.5, 7.5), 3, Estimate(2.0, 2.0, 2.1), 900, 1),
        ),
        ResultRow(None, ((Dimension.ASSET, "a2"),), MetricValues()),
    )
)


def query(asset: str = "a1", end: int = 7) -> MetricQuery:
    return MetricQuery(
        Interval(date(2024, 1, 1), date(2024, 1, end)), filter=Filter(asset_ids=(asset,))
    )


class Computation:
    """Counts how often the cache asks for an answer."""

    def __init__(self, result: QueryResult = RESULT, delay: float = 0.05) -> None:
        self.calls = 0
        self.result = result
        self.delay = delay

    async def __call__(self) -> QueryResult:
        self.calls += 1
        await asyncio.sleep(self.delay)
        return self.result


def test_key_depends_on_query_and_data_version() -> None:
    assert result_key(query(), "v1") == result_key(query(), "v1")
    assert result_key(query(), "v1") != result_key(query(), "v2")
    assert result_key(query("a1"), "v1") != result_key(query("a2"), "v1")
    assert result_key(query(end=7), "v1") != result_key(query(end=8), "v1")
    # routing may send one question to different stacks: their answers are kept apart
    assert result_key(query(), "v1", "embedded") != result_key(query(), "v1", "legacy")


async def test_identical_concurrent_queries_are_computed_once() -> None:
    metrics = ApiMetrics()
    cache = ResultCache.from_settings(None, 60, metrics)
    compute = Computation()
    key = result_key(query(), "v1")
    results = await asyncio.gather(*(cache.get_or_compute(key, compute) for _ in range(20)))
    assert compute.calls == 1
    assert all(r == RESULT for r in results)
    assert metrics.cache_coalesced._value.get() == 19
    # later: a cache hit, still not recomputed
    assert await cache.get_or_compute(key, compute) == RESULT
    assert compute.calls == 1
    assert metrics.cache_hits._value.get() == 1
    assert metrics.cache_misses._value.get() == 1
    # new data version: recomputed
    await cache.get_or_compute(result_key(query(), "v2"), compute)
    assert compute.calls == 2
    await cache.close()


async def test_a_failure_reaches_every_waiter_and_is_not_cached() -> None:
    cache = ResultCache.from_settings(None, 60)
    calls = 0

    async def failing() -> QueryResult:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.02)
        raise RuntimeError("backend down")

    key = result_key(query(), "v1")
    outcomes = await asyncio.gather(
        *(cache.get_or_compute(key, failing) for _ in range(5)), return_exceptions=True
    )
    assert calls == 1
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    compute = Computation()
    assert await cache.get_or_compute(key, compute) == RESULT
    assert compute.calls == 1


async def test_a_cancelled_caller_does_not_cancel_the_others() -> None:
    cache = ResultCache.from_settings(None, 60)
    compute = Computation(delay=0.1)
    key = result_key(query(), "v1")
    leader = asyncio.ensure_future(cache.get_or_compute(key, compute))
    await asyncio.sleep(0.01)
    follower = asyncio.ensure_future(cache.get_or_compute(key, compute))
    await asyncio.sleep(0.01)
    leader.cancel()
    assert await follower == RESULT
    assert compute.calls == 1


async def test_a_computation_every_caller_abandoned_is_cancelled() -> None:
    cache = ResultCache.from_settings(None, 60)
    started = asyncio.Event()
    stopped: list[bool] = []

    async def endless() -> QueryResult:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            stopped.append(True)
            raise
        raise AssertionError("never finishes")

    key = result_key(query(), "v1")
    callers = [asyncio.ensure_future(cache.get_or_compute(key, endless)) for _ in range(2)]
    await started.wait()
    callers[0].cancel()
    await asyncio.sleep(0.01)
    assert cache.inflight == 1 and not stopped  # one caller still waits for it
    callers[1].cancel()
    await asyncio.gather(*callers, return_exceptions=True)
    await asyncio.sleep(0.01)
    assert stopped == [True] and cache.inflight == 0


async def test_memory_cache_is_bounded() -> None:
    from aiocache import SimpleMemoryCache

    cache = ResultCache(SimpleMemoryCache(), ttl_s=60, max_entries=2)
    compute = Computation(delay=0)
    keys = [result_key(query(f"a{i}"), "v1") for i in range(3)]
    for key in keys:
        await cache.get_or_compute(key, compute)
    assert compute.calls == 3
    await cache.get_or_compute(keys[2], compute)  # newest: kept
    assert compute.calls == 3
    await cache.get_or_compute(keys[0], compute)  # oldest: evicted
    assert compute.calls == 4


async def test_zero_ttl_disables_storage() -> None:
    cache = ResultCache.from_settings(None, 0)
    assert not cache.enabled
    compute = Computation(delay=0)
    key = result_key(query(), "v1")
    await cache.get_or_compute(key, compute)
    await cache.get_or_compute(key, compute)
    assert compute.calls == 2


@pytest.mark.redis
async def test_redis_cache_is_shared_between_processes(redis_server: RedisServer) -> None:
    import redis.asyncio as aioredis

    first = ResultCache.from_settings(redis_server.url, 60)
    second = ResultCache.from_settings(redis_server.url, 60)  # another API process
    compute = Computation()
    key = result_key(query(), "v-redis")
    assert await first.get_or_compute(key, compute) == RESULT
    assert await second.get_or_compute(key, compute) == RESULT
    assert compute.calls == 1
    client = aioredis.from_url(redis_server.url)
    try:
        stored = await client.get("keyart:r:" + key)
        assert stored is not None
        assert decode_result(stored) == RESULT
        assert 0 < await client.ttl("keyart:r:" + key) <= 60
    finally:
        await client.aclose()
    await first.close()
    await second.close()


@pytest.mark.redis
async def test_redis_single_flight(redis_server: RedisServer) -> None:
    cache = ResultCache.from_settings(redis_server.url, 60)
    compute = Computation()
    key = result_key(query("single"), "v-redis")
    results = await asyncio.gather(*(cache.get_or_compute(key, compute) for _ in range(10)))
    assert compute.calls == 1
    assert set(results) == {RESULT}
    await cache.close()


async def test_unreachable_redis_degrades_to_computing(tmp_path: Path) -> None:
    metrics = ApiMetrics()
    cache = ResultCache.from_settings(f"redis://127.0.0.1:{free_port()}/0", 60, metrics)
    compute = Computation(delay=0)
    key = result_key(query(), "v1")
    assert await cache.get_or_compute(key, compute) == RESULT
    assert await cache.get_or_compute(key, compute) == RESULT
    assert compute.calls == 2
    assert metrics.cache_errors._value.get() >= 2
    await cache.close()
