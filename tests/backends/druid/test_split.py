"""Splitting a query that exceeds Druid's groupBy memory into two with disjoint groups."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import date

import httpx
import pytest

from keyart.backends.druid import DruidBackend
from keyart.backends.druid.split import split
from keyart.errors import BackendUnavailable, BadQuery
from keyart.query import Dimension, Filter, Granularity, Interval, Metric, MetricQuery, buckets
from tests.backends import handmade
from tests.backends.cases import Universe, cases, fine_grained

UNIVERSE = Universe(
    handmade.FIRST_DAY,
    handmade.N_DAYS,
    assets=("A1", "A2", "A3", "A4"),
    titles=("T1", "T2"),
    countries=handmade.COUNTRIES,
    labels=handmade.LABELS,
)
CASES = {**cases(UNIVERSE), "fine_grained": fine_grained(UNIVERSE)}
DATA = handmade.make_dataset()


def _exact(query: MetricQuery) -> dict[object, tuple[object, ...]]:
    return {
        key: (t.impressions, t.unique_impressions, t.qualified_plays, t.unique_players,
              t.play_seconds, t.engaged_plays)
        for key, t in handmade.oracle(DATA, query).items()
    }  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_halves_have_disjoint_groups_that_make_up_the_answer(name: str) -> None:
    query = CASES[name]
    parts = split(query)
    if parts is None:
        # only a question with one time bucket and no grouped filter list cannot be split
        assert (
            query.granularity is Granularity.ALL
            or len(buckets(query.interval, query.granularity)) == 1
        )
        assert not any(
            d in query.group_by and len(v) >= 2 for d, v in query.filter.constraints().items()
        )
        return
    first, second = (_exact(p) for p in parts)
    assert not set(first) & set(second)
    assert {**first, **second} == _exact(query)


def test_bucket_split_cuts_at_a_bucket_boundary() -> None:
    query = MetricQuery(Interval(date(2024, 1, 3), date(2024, 2, 20)), Granularity.WEEK)
    parts = split(query)
    assert parts is not None
    a, b = parts
    assert a.interval.start == date(2024, 1, 3) and b.interval.end == date(2024, 2, 20)
    assert b.interval.start.weekday() == 0  # a Monday
    assert a.interval.end.toordinal() + 1 == b.interval.start.toordinal()


def _asset_values(body: dict[str, object]) -> list[str]:
    f = body.get("filter")
    assert isinstance(f, dict)
    return list(f["values"]) if f["type"] == "in" else [f["value"]]


async def test_backend_retries_resource_limit_on_disjoint_halves() -> None:
    sent: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assets = _asset_values(body)
        sent.append(assets)
        if len(assets) > 1:
            return httpx.Response(400, json={
                "error": "Resource limit exceeded",
                "errorMessage": "Not enough merge buffer memory to execute this query.",
                "errorClass": "org.apache.druid.query.ResourceLimitExceededException",
            })  # fmt: skip
        event = {"asset_id": assets[0], "impressions": len(assets[0])}
        return httpx.Response(200, json=[{"timestamp": "2024-01-01T00:00:00.000Z",
                                          "event": event}])  # fmt: skip

    backend = DruidBackend("http://b", transport=httpx.MockTransport(handler))
    query = MetricQuery(
        Interval(date(2024, 1, 1), date(2024, 1, 31)),
        filter=Filter(asset_ids=("a1", "a22", "a333", "a4444")),
        group_by=(Dimension.ASSET,),
        metrics=(Metric.IMPRESSIONS,),
    )
    result = await backend.execute(query)
    await backend.aclose()
    assert sorted((r.get(Dimension.ASSET), r.metrics.impressions) for r in result.rows) == [
        ("a1", 2), ("a22", 3), ("a333", 4), ("a4444", 5),
    ]  # fmt: skip
    assert sent[0] == ["a1", "a22", "a333", "a4444"]
    assert len(sent) == 7  # 1 failed, 2 failed halves, 4 answered quarters


async def test_backend_gives_up_with_druids_error_when_nothing_splits() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(
            400,
            json={
                "error": "Resource limit exceeded",
                "errorMessage": "Not enough merge buffer memory",
            },
        )

    backend = DruidBackend("http://b", transport=httpx.MockTransport(handler))
    query = MetricQuery(Interval(date(2024, 1, 1), date(2024, 1, 31)), group_by=(Dimension.ASSET,))
    with pytest.raises(BadQuery, match="Not enough merge buffer memory"):
        await backend.execute(query)
    await backend.aclose()
    assert calls == 1


async def test_split_parts_share_one_deadline() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.1)
        return httpx.Response(
            400,
            json={
                "error": "Resource limit exceeded",
                "errorMessage": "Not enough merge buffer memory",
            },
        )

    backend = DruidBackend("http://b", timeout_s=0.35, transport=httpx.MockTransport(handler))
    query = MetricQuery(
        Interval(date(2024, 1, 1), date(2024, 1, 31)),
        filter=Filter(asset_ids=tuple(f"a{i}" for i in range(16))),
        group_by=(Dimension.ASSET,),
    )
    started = time.monotonic()
    with pytest.raises(BackendUnavailable, match=r"did not answer within 0\.35s"):
        await backend.execute(query)
    await backend.aclose()
    # 31 sequential attempts would take 3.1 s; the whole answer gets 0.35 s
    assert time.monotonic() - started < 1.0
