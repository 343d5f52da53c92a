"""The Druid backend and `keyart druid ingest` against the real local cluster (its answers
to every IR case are checked by the conformance suite, tests/backends/test_conformance.py):

- loads report every warehouse row; ping names a datasource that is not loaded;
- a query beyond Druid's groupBy memory is answered in parts, equal to the exact truth;
  affinity counts are also checked against SQL over the clean event tables;
- re-ingesting is idempotent and replaces the interval (a day now empty disappears);
- faults: a failed task reports Druid's own error; malformed queries are BadQuery; a timeout
  is BackendUnavailable.

Needs `make druid-up`; skipped otherwise (failed with KEYART_REQUIRE_DRUID=1).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from keyart.backends.druid import DruidBackend
from keyart.backends.druid.client import DruidClient
from keyart.backends.druid.ingest import DruidIngestor, ingest_warehouse
from keyart.backends.druid.ingest_spec import ingestion_spec, interval_text
from keyart.backends.druid.split import RESOURCE_LIMIT
from keyart.errors import BackendUnavailable, BadQuery, IngestError
from keyart.query import Dimension, Filter, Interval, MetricQuery
from keyart.warehouse.layout import Warehouse
from keyart.warehouse.tables import ASSET_COUNTRY_DAY
from tests.backends import handmade
from tests.backends.cases import Universe, cases, fine_grained
from tests.backends.druid.loads import (
    HANDMADE_PREFIX,
    LOAD_TIMEOUT_S,
    REPLACE_PREFIX,
    TINY_PREFIX,
    Loaded,
    load,
)
from tests.druid_support import DruidEndpoints

pytestmark = [pytest.mark.druid, pytest.mark.slow]


def _sql(sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect()
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# ---------------------------------------------------------------- hand-built data vs oracle


def test_load_reports_every_warehouse_row(handmade_loaded: Loaded) -> None:
    version = Warehouse(handmade_loaded.warehouse).current()
    by_ds = {r.datasource: r for r in handmade_loaded.reports}
    assert set(by_ds) == {
        f"{HANDMADE_PREFIX}asset_audience_day",
        f"{HANDMADE_PREFIX}asset_country_day",
    }
    for name in ("asset_audience_day", "asset_country_day"):
        ((rows,),) = _sql(f"SELECT count(*) FROM read_parquet('{version.rollup_glob(name)}')")
        report = by_ds[HANDMADE_PREFIX + name]
        assert report.rows == rows
        assert report.impressions == len(handmade_loaded.data.impressions)
        assert report.qualified_plays == len(handmade_loaded.data.plays)
        first, last = version.days[0], version.days[-1]
        assert report.interval == interval_text(first, last)


@pytest.fixture
async def hm_backend(handmade_loaded: Loaded, druid: DruidEndpoints) -> AsyncIterator[DruidBackend]:
    backend = DruidBackend(
        druid.broker, lg_k=handmade.LG_K, datasource_prefix=HANDMADE_PREFIX, timeout_s=30
    )
    yield backend
    await backend.aclose()


async def test_ping(hm_backend: DruidBackend, druid: DruidEndpoints) -> None:
    await hm_backend.ping()
    never_loaded = DruidBackend(druid.broker, datasource_prefix="keyart_never_loaded_")
    try:
        with pytest.raises(BackendUnavailable, match="keyart_never_loaded_asset_audience_day"):
            await never_loaded.ping()
    finally:
        await never_loaded.aclose()


# ---------------------------------------------------------------- ETL warehouse: big queries


async def test_query_beyond_druids_groupby_memory_is_answered_in_parts(
    tiny_loaded: Path, tiny_truth: handmade.Dataset, tiny_universe: Universe, druid: DruidEndpoints
) -> None:
    # fine_grained (~11k groups x 2 HLL unions of 16 KiB) exceeds the local cluster's 50 MiB
    # groupBy buffer ("Resource limit exceeded"): the backend answers it in split parts
    query = fine_grained(tiny_universe)
    version = Warehouse(tiny_loaded).current()
    # no spilling to disk for these queries, so Druid's groupBy memory limit is reached
    backend = DruidBackend(
        druid.broker,
        lg_k=version.lg_k,
        datasource_prefix=TINY_PREFIX,
        timeout_s=60,
        query_context={"maxOnDiskStorage": 0},
    )
    try:
        try:
            await backend.client.query(backend.compile(query))
        except BadQuery as exc:
            assert RESOURCE_LIMIT in str(exc)
        else:
            pytest.skip("this cluster's groupBy memory holds the query in one piece")
        got = await backend.execute(query)
    finally:
        await backend.aclose()
    assert len(got.rows) > 1000
    cmp = handmade.compare(got, handmade.oracle(tiny_truth, query), query, exact=False)
    assert cmp.distinct_outside <= 0.05 * cmp.distinct_checked


async def test_affinity_breakdown_matches_sql_over_clean_events(
    tiny_loaded: Path, tiny_universe: Universe, druid: DruidEndpoints
) -> None:
    """Per label: impressions exactly, distinct members inside the bounds (≥95% of groups)."""
    version = Warehouse(tiny_loaded).current()
    window = cases(tiny_universe)["total"].interval
    labels = tiny_universe.labels[:2]
    query = MetricQuery(window, filter=Filter(affinities=labels), group_by=(Dimension.AFFINITY,
                        Dimension.COUNTRY))  # fmt: skip
    exact: dict[tuple[str, str], tuple[int, int]] = {}
    for label, country, n, members in _sql(
        "SELECT a, country, count(*), count(DISTINCT member_id) FROM ("
        f"  SELECT unnest(affinities) AS a, country, member_id "
        f"  FROM read_parquet('{version.events_glob('impressions')}')"
        f"  WHERE day BETWEEN DATE '{window.start}' AND DATE '{window.end}'"
        f") WHERE a IN ('{labels[0]}', '{labels[1]}') GROUP BY 1, 2"
    ):
        assert isinstance(n, int) and isinstance(members, int)
        exact[(str(label), str(country))] = (n, members)
    backend = DruidBackend(
        druid.broker, lg_k=version.lg_k, datasource_prefix=TINY_PREFIX, timeout_s=60
    )
    try:
        result = await backend.execute(query)
    finally:
        await backend.aclose()
    got = {
        (r.get(Dimension.AFFINITY), r.get(Dimension.COUNTRY)): r.metrics
        for r in result.rows
        if r.metrics.impressions
    }
    assert set(got) == set(exact)
    inside = 0
    for key, (n, members) in exact.items():
        assert got[key].impressions == n, key
        est = got[key].unique_impressions
        inside += est.lower <= members <= est.upper
    assert inside >= 0.95 * len(exact)


# ---------------------------------------------------------------- idempotency and replacement


async def _totals(druid: DruidEndpoints, datasource: str, interval: str) -> tuple[int, int, int]:
    ingestor = DruidIngestor(druid.overlord, druid.broker, progress=None)
    try:
        return await ingestor.broker_totals(datasource, interval)
    finally:
        await ingestor.aclose()


async def test_reingest_is_idempotent(tiny_loaded: Path, druid: DruidEndpoints) -> None:
    version = Warehouse(tiny_loaded).current()
    interval = interval_text(version.days[0], version.days[-1])
    datasource = f"{TINY_PREFIX}asset_audience_day"
    ((expected_rows,),) = _sql(
        f"SELECT count(*) FROM read_parquet('{version.rollup_glob('asset_audience_day')}')"
    )
    before = await _totals(druid, datasource, interval)
    assert before[0] == expected_rows
    reports = await ingest_warehouse(
        tiny_loaded, druid.overlord, druid.broker, coordinator_url=druid.coordinator,
        timeout_s=LOAD_TIMEOUT_S, datasource_prefix=TINY_PREFIX, progress=None,
    )  # fmt: skip
    assert {r.datasource for r in reports} == {datasource, f"{TINY_PREFIX}asset_country_day"}
    # rows counted once, not twice: the load replaced the interval
    assert await _totals(druid, datasource, interval) == before


def test_reingest_replaces_the_interval(druid: DruidEndpoints, tmp_path: Path) -> None:
    """A new warehouse version replaces Druid's days; a day that is now empty disappears."""
    first = handmade.make_dataset(seed=3, n_members=100, n_impressions=800)
    gap = handmade.FIRST_DAY + timedelta(days=5)
    second = handmade.make_dataset(seed=4, n_members=100, n_impressions=900)
    second.impressions = [e for e in second.impressions if e.day != gap]
    second.plays = [e for e in second.plays if e.day != gap]
    assert min(second.days) < gap < max(second.days)
    # the second load's interval covers every day of the first
    assert min(second.days) <= min(first.days) and max(first.days) <= max(second.days)
    root = tmp_path / "wh"

    handmade.publish(root, first)
    load(druid, root, REPLACE_PREFIX)
    handmade.publish(root, second)
    load(druid, root, REPLACE_PREFIX)

    async def check() -> None:
        backend = DruidBackend(druid.broker, lg_k=handmade.LG_K, datasource_prefix=REPLACE_PREFIX)
        try:
            whole = Interval(
                handmade.FIRST_DAY, handmade.FIRST_DAY + timedelta(days=handmade.N_DAYS)
            )
            for plan in (True, False):
                backend.options = replace(backend.options, use_country_datasource=plan)
                for query in (
                    MetricQuery(whole, group_by=(Dimension.ASSET,)),
                    MetricQuery(Interval(gap, gap)),
                    MetricQuery(whole, filter=Filter(affinities=("x",)),
                                group_by=(Dimension.AFFINITY,)),
                ):  # fmt: skip
                    result = await backend.execute(query)
                    truth = handmade.oracle(second, query)
                    handmade.compare(result, truth, query, exact=False)
            day = await backend.execute(MetricQuery(Interval(gap, gap)))
            assert day.rows == ()
        finally:
            await backend.aclose()

    asyncio.run(check())


# ---------------------------------------------------------------- faults


async def test_failed_task_reports_druids_own_error(druid: DruidEndpoints, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "2024-01-01.json").write_text(
        '{"day": "2024-01-01", "title_id": "t", "impressions": 1}\n{not json\n'
    )
    spec = ingestion_spec(
        datasource=f"{REPLACE_PREFIX}broken",
        rollup=ASSET_COUNTRY_DAY,
        base_dir=folder,
        interval=interval_text(handmade.FIRST_DAY, handmade.FIRST_DAY),
        lg_k=12,
    )
    ingestor = DruidIngestor(druid.overlord, druid.broker, progress=None)
    try:
        task = await ingestor.submit(spec)
        with pytest.raises(IngestError) as info:
            await ingestor.wait_task(task, "broken", time.monotonic() + LOAD_TIMEOUT_S)
    finally:
        await ingestor.aclose()
    text = str(info.value)
    assert task in text
    assert "Max parse exceptions" in text  # Druid's errorMsg
    assert "Unable to parse row [{not json]" in text  # Druid's saved parse exception


@pytest.mark.parametrize(
    "body",
    [
        {"queryType": "bogus"},
        {
            "queryType": "timeseries",
            "dataSource": f"{HANDMADE_PREFIX}asset_country_day",
            "granularity": "all",
            "intervals": ["2024-01-01/2025-01-01"],
            "aggregations": [{"type": "noSuchAggregator", "name": "x", "fieldName": "y"}],
        },
        {
            "queryType": "timeseries",
            "dataSource": f"{HANDMADE_PREFIX}asset_country_day",
            "granularity": {"type": "period", "period": "P1Fortnight"},
            "intervals": ["2024-01-01/2025-01-01"],
            "aggregations": [],
        },
    ],
    ids=["unknown-query-type", "unknown-aggregator", "bad-period"],
)
async def test_malformed_queries_are_bad_query(
    druid: DruidEndpoints, body: dict[str, object]
) -> None:
    client = DruidClient(druid.broker, timeout_s=30)
    try:
        with pytest.raises(BadQuery) as info:
            await client.query(body)
    finally:
        await client.aclose()
    assert "Druid at" in str(info.value)


async def test_client_timeout_is_backend_unavailable_in_time(
    handmade_loaded: Loaded, druid: DruidEndpoints
) -> None:
    backend = DruidBackend(druid.broker, lg_k=handmade.LG_K, datasource_prefix=HANDMADE_PREFIX,
                           timeout_s=0.001)  # fmt: skip
    started = time.monotonic()
    try:
        with pytest.raises(BackendUnavailable, match="did not answer within"):
            await backend.execute(fine_grained(handmade.UNIVERSE))
    finally:
        await backend.aclose()
    assert time.monotonic() - started < 1.0


async def test_druid_side_timeout_is_backend_unavailable(
    handmade_loaded: Loaded, druid: DruidEndpoints
) -> None:
    backend = DruidBackend(druid.broker, lg_k=handmade.LG_K, datasource_prefix=HANDMADE_PREFIX)
    body = backend.compile(fine_grained(handmade.UNIVERSE))
    # Druid's own 1 ms deadline, no cached segment results to answer from
    body["context"] = {"timeout": 1, "useCache": False, "populateCache": False}
    try:
        with pytest.raises(BackendUnavailable, match=r"(?i)timeout"):
            await backend.client.query(body)
    finally:
        await backend.aclose()
