"""Loader batching: keys sharing a shape become ONE IR query with an entity IN-list.

The backend here is a recording double: these tests are about how many queries are issued
and which ones, not about numbers (those are checked against real data in tests/e2e).
"""

from __future__ import annotations

import asyncio
from datetime import date

from keyart.cache import ResultCache
from keyart.errors import BackendUnavailable
from keyart.loaders import MetricKey, MetricLoader, QueryExecutor, Shape
from keyart.query import (
    Dimension,
    Filter,
    Granularity,
    Interval,
    MetricQuery,
    MetricValues,
    QueryResult,
    ResultRow,
)

WINDOW = Interval(date(2024, 1, 1), date(2024, 1, 30))


class RecordingBackend:
    """Answers every query with one row per asked entity (impressions = position), and
    records the queries; fails queries whose filter names a country in `broken`."""

    name = "recording"

    def __init__(self, broken: frozenset[str] = frozenset()) -> None:
        self.queries: list[MetricQuery] = []
        self.broken = broken

    async def execute(self, query: MetricQuery, version: str | None = None) -> QueryResult:
        self.queries.append(query)
        await asyncio.sleep(0)
        if set(query.filter.countries or ()) & self.broken:
            raise BackendUnavailable("the recording backend is down for this country")
        entity = query.group_by[0]
        ids = query.filter.title_ids if entity is Dimension.TITLE else query.filter.asset_ids
        assert ids is not None
        rows = [
            ResultRow(None, ((entity, eid),), MetricValues(impressions=i + 1))
            for i, eid in enumerate(ids)
        ]
        return QueryResult(tuple(rows))

    async def ping(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


def loader(backend: RecordingBackend, cache: ResultCache | None = None) -> MetricLoader:
    executor = QueryExecutor(backend, cache or ResultCache.from_settings(None, 60))
    return MetricLoader(executor, "v1")


async def test_a_page_of_assets_costs_one_query_per_shape() -> None:
    backend = RecordingBackend()
    load = loader(backend)
    assets = [f"asset-{i:02d}" for i in range(10)]
    us = Filter(countries=("US",))
    metrics = Shape(WINDOW, us)
    daily = Shape(WINDOW, us, Granularity.DAY)
    affinity = Shape(WINDOW, us, breakdown=(Dimension.AFFINITY,))
    keys = [MetricKey(shape, a) for a in assets for shape in (metrics, daily, affinity)]
    answers = await asyncio.gather(*(load.load(k) for k in keys))
    assert len(backend.queries) == 3
    assert sorted((q.granularity.value, q.group_by) for q in backend.queries) == [
        ("all", (Dimension.ASSET,)),
        ("all", (Dimension.ASSET, Dimension.AFFINITY)),
        ("day", (Dimension.ASSET,)),
    ]
    for q in backend.queries:
        assert q.filter.asset_ids == tuple(sorted(assets))
        assert q.filter.countries == ("US",)
        assert q.group_by[0] is Dimension.ASSET
    # each key gets its own entity's rows back
    for key, rows in zip(keys, answers, strict=True):
        assert [r.get(Dimension.ASSET) for r in rows] == [key.entity_id]


async def test_titles_batch_on_title_ids() -> None:
    backend = RecordingBackend()
    load = loader(backend)
    shape = Shape(WINDOW, entity=Dimension.TITLE)
    rows = await asyncio.gather(*(load.load(MetricKey(shape, t)) for t in ("t2", "t1", "t3")))
    assert len(backend.queries) == 1
    (q,) = backend.queries
    assert q.filter.title_ids == ("t1", "t2", "t3")
    assert q.filter.asset_ids is None
    assert q.group_by == (Dimension.TITLE,)
    assert [r[0].get(Dimension.TITLE) for r in rows] == ["t2", "t1", "t3"]


async def test_a_failing_shape_fails_only_its_keys() -> None:
    backend = RecordingBackend(broken=frozenset({"FR"}))
    load = loader(backend)
    good = MetricKey(Shape(WINDOW, Filter(countries=("US",))), "a1")
    bad = MetricKey(Shape(WINDOW, Filter(countries=("FR",))), "a1")
    outcomes = await asyncio.gather(load.load(good), load.load(bad), return_exceptions=True)
    assert isinstance(outcomes[1], BackendUnavailable)
    assert not isinstance(outcomes[0], BaseException)
    assert outcomes[0][0].metrics.impressions == 1


async def test_empty_filter_list_matches_nothing_without_a_query() -> None:
    backend = RecordingBackend()
    load = loader(backend)
    rows = await load.load(MetricKey(Shape(WINDOW, Filter(countries=())), "a1"))
    assert rows == ()
    assert backend.queries == []


async def test_identical_requests_in_two_loaders_share_the_cache() -> None:
    backend = RecordingBackend()
    cache = ResultCache.from_settings(None, 60)
    key = MetricKey(Shape(WINDOW), "a1")
    first, second = loader(backend, cache), loader(backend, cache)
    await asyncio.gather(first.load(key), second.load(key))
    assert len(backend.queries) == 1
    other_version = MetricLoader(QueryExecutor(backend, cache), "v2")
    await other_version.load(key)
    assert len(backend.queries) == 2
