"""The embedded backend against a plain-Python oracle over a hand-built warehouse."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from keyart.backends.base import Backend
from keyart.backends.duckdb.serving_copy import FORMAT
from keyart.backends.embedded import EmbeddedBackend
from keyart.errors import BackendUnavailable
from keyart.query.ir import Dimension, Filter, Granularity, Interval, Metric, MetricQuery
from keyart.warehouse.layout import Warehouse
from tests.backends import handmade
from tests.backends.cases import fine_grained
from tests.backends.handmade import CASES, UNIVERSE
from tests.backends.served import STORAGES, opened


@pytest.fixture(scope="module")
def dataset() -> handmade.Dataset:
    return handmade.make_dataset()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory, dataset: handmade.Dataset) -> Path:
    root = tmp_path_factory.mktemp("handmade") / "wh"
    handmade.publish(root, dataset)
    return root


@pytest.fixture(params=STORAGES)
async def backend(
    warehouse: Path, request: pytest.FixtureRequest
) -> AsyncIterator[EmbeddedBackend]:
    """The backend reading the day files, or reading the version's serving copy."""
    async with opened(EmbeddedBackend, warehouse, request.param) as b:
        yield b


def test_is_a_backend(warehouse: Path) -> None:
    assert isinstance(EmbeddedBackend(warehouse), Backend)


@pytest.mark.parametrize("name", sorted(CASES))
async def test_matches_oracle(
    backend: EmbeddedBackend, dataset: handmade.Dataset, name: str
) -> None:
    query = CASES[name]
    result = await backend.execute(query)
    cmp = handmade.compare(result, handmade.oracle(dataset, query), query, exact=False)
    # these groups are small, so sketches are in exact (list/set) mode: every bound holds
    assert cmp.distinct_outside == 0


async def test_bounds_cover_exact_distinct_counts(
    backend: EmbeddedBackend, dataset: handmade.Dataset
) -> None:
    query = fine_grained(UNIVERSE)
    result = await backend.execute(query)
    cmp = handmade.compare(result, handmade.oracle(dataset, query), query, exact=False)
    assert cmp.distinct_checked > 500
    assert cmp.distinct_outside <= 0.05 * cmp.distinct_checked


async def test_affinity_groups_do_not_multiply_the_total(
    backend: EmbeddedBackend, dataset: handmade.Dataset
) -> None:
    whole = CASES["total"].interval
    total = (await backend.execute(MetricQuery(whole))).rows[0].metrics
    grouped = (await backend.execute(MetricQuery(whole, group_by=(Dimension.AFFINITY,)))).rows
    labelled = sum(1 for e in dataset.impressions if e.labels)
    multi = sum(len(e.labels) for e in dataset.impressions)
    assert total.impressions == len(dataset.impressions)
    # one group per label a row carries; label-less members form no group
    assert sum(r.metrics.impressions for r in grouped) == multi
    assert {r.get(Dimension.AFFINITY) for r in grouped} == set(handmade.LABELS)
    any_label = await backend.execute(MetricQuery(whole, filter=Filter(affinities=("x", "y", "z"))))
    assert any_label.rows[0].metrics.impressions == labelled


async def test_week_and_month_buckets_are_dated_at_their_start(backend: EmbeddedBackend) -> None:
    window = Interval(
        handmade.FIRST_DAY + timedelta(days=2), handmade.FIRST_DAY + timedelta(days=9)
    )
    weeks = await backend.execute(MetricQuery(window, Granularity.WEEK))
    assert [r.bucket for r in weeks.rows] == [handmade.FIRST_DAY, handmade.FIRST_DAY + timedelta(7)]
    months = await backend.execute(MetricQuery(window, Granularity.MONTH))
    assert [r.bucket for r in months.rows] == [
        window.start.replace(day=1),
        window.end.replace(day=1),
    ]


async def test_empty_filter_list_matches_nothing(backend: EmbeddedBackend) -> None:
    query = MetricQuery(CASES["total"].interval, filter=Filter(countries=()))
    assert (await backend.execute(query)).rows == ()


async def test_user_values_are_bound_not_spliced(backend: EmbeddedBackend) -> None:
    hostile = "US') OR TRUE OR ('"
    query = MetricQuery(CASES["total"].interval, filter=Filter(countries=(hostile, "x'")))
    assert (await backend.execute(query)).rows == ()


async def test_new_version_becomes_visible(tmp_path: Path) -> None:
    first = handmade.make_dataset(seed=1, n_members=50, n_impressions=300)
    second = handmade.make_dataset(seed=2, n_members=50, n_impressions=500)
    old = handmade.publish(tmp_path, first)
    backend = EmbeddedBackend(tmp_path)
    try:
        whole = CASES["total"]
        assert await backend.wait_until_served(timeout=120)
        assert (await backend.execute(whole)).rows[0].metrics.impressions == 300
        new = handmade.publish(tmp_path, second)
        # the next query sees the new version at once (from its day files) ...
        assert (await backend.execute(whole)).rows[0].metrics.impressions == 500
        # ... and once its serving copy is built, from that; the old copy outlives
        # nothing but its version
        assert await backend.wait_until_served(timeout=120)
        assert (await backend.execute(whole)).rows[0].metrics.impressions == 500
        cache = sorted(p.name for p in (tmp_path / "cache").glob("*.duckdb"))
        assert cache == sorted(f"{v.name}.embedded.f{FORMAT}.duckdb" for v in (old, new))
        Warehouse(tmp_path).prune(keep=1)
        assert (await backend.execute(whole)).rows[0].metrics.impressions == 500
    finally:
        await backend.aclose()


async def test_unwritable_cache_falls_back_to_day_files(
    warehouse: Path, dataset: handmade.Dataset, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    backend = EmbeddedBackend(warehouse, cache_dir=blocker / "cache")
    try:
        assert not await backend.wait_until_served(timeout=120)
        assert backend.serving_state() == "failed"
        result = await backend.execute(CASES["by_asset"])
        handmade.compare(
            result, handmade.oracle(dataset, CASES["by_asset"]), CASES["by_asset"], exact=False
        )
    finally:
        await backend.aclose()


async def test_missing_warehouse_is_unavailable(tmp_path: Path) -> None:
    backend = EmbeddedBackend(tmp_path / "nothing")
    try:
        with pytest.raises(BackendUnavailable):
            await backend.ping()
        with pytest.raises(BackendUnavailable):
            await backend.execute(CASES["total"])
    finally:
        await backend.aclose()


async def test_ping_and_concurrent_queries(backend: EmbeddedBackend) -> None:
    await backend.ping()
    results = await asyncio.gather(*(backend.execute(CASES[n]) for n in sorted(CASES)))
    again = [await backend.execute(CASES[n]) for n in sorted(CASES)]
    assert results == again


async def test_closed_backend_is_unavailable(warehouse: Path) -> None:
    backend = EmbeddedBackend(warehouse)
    await backend.aclose()
    with pytest.raises(BackendUnavailable):
        await backend.execute(CASES["total"])


async def test_corrupt_file_is_unavailable_not_a_crash(tmp_path: Path) -> None:
    version = handmade.publish(tmp_path, handmade.make_dataset(seed=4, n_impressions=200))
    broken = sorted((version.root / "rollups" / "asset_country_day").glob("day=*/*.parquet"))[0]
    broken.write_bytes(b"not a parquet file")
    backend = EmbeddedBackend(tmp_path, serving=False)
    try:
        with pytest.raises(BackendUnavailable, match="parquet"):
            await backend.execute(CASES["total"])
    finally:
        await backend.aclose()


async def test_corrupt_sketch_is_unavailable(tmp_path: Path) -> None:
    version = handmade.publish(tmp_path, handmade.make_dataset(seed=4, n_impressions=200))
    path = sorted((version.root / "rollups" / "asset_country_day").glob("day=*/*.parquet"))[0]
    table = pq.read_table(path)
    bad = [b"garbage" if v is not None else None for v in table.column("imp_sketch").to_pylist()]
    table = table.set_column(
        table.schema.get_field_index("imp_sketch"), "imp_sketch", pa.array(bad, pa.binary())
    )
    pq.write_table(table, path)
    backend = EmbeddedBackend(tmp_path, serving=False)
    try:
        with pytest.raises(BackendUnavailable, match="unique_impressions"):
            await backend.execute(CASES["total"])
        # counts do not need the sketches and still answer
        counts = MetricQuery(CASES["total"].interval, metrics=(Metric.IMPRESSIONS,))
        assert (await backend.execute(counts)).rows[0].metrics.impressions == 200
    finally:
        await backend.aclose()


async def test_unreadable_serving_copy_falls_back_to_day_files(tmp_path: Path) -> None:
    version = handmade.publish(tmp_path, handmade.make_dataset(seed=6, n_impressions=300))
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / f"{version.name}.embedded.f{FORMAT}.duckdb").write_bytes(b"not a database")
    backend = EmbeddedBackend(tmp_path)
    try:
        result = await backend.execute(CASES["total"])
        assert result.rows[0].metrics.impressions == 300
        assert not await backend.wait_until_served(timeout=10)
    finally:
        await backend.aclose()


def test_filter_cases_bite_on_the_handmade_data(dataset: handmade.Dataset) -> None:
    """The exclusion and all-of / none-of cases select a real, proper part of the data,
    and none-of keeps the events of members without labels while all-of drops them."""
    everything = sum(t.impressions for t in handmade.oracle(dataset, CASES["total"]).values())
    for name in ("exclude_country", "all_of_two", "none_of_one", "any_and_none", "any_and_all"):
        kept = sum(t.impressions for t in handmade.oracle(dataset, CASES[name]).values())
        assert 0 < kept < everything, name
    labelless = [e for e in dataset.impressions if not e.labels]
    assert labelless
    flt = CASES["none_of_one"].filter
    assert all(handmade._matches(e, CASES["none_of_one"]) for e in labelless)
    assert not any(handmade._matches(e, CASES["all_of_one"]) for e in labelless)
    assert flt.exclude_affinities == (UNIVERSE.labels[0],)


@pytest.fixture
async def served_backend(warehouse: Path) -> AsyncIterator[EmbeddedBackend]:
    async with opened(EmbeddedBackend, warehouse, "served") as b:
        yield b


@pytest.mark.parametrize("name", sorted(CASES))
async def test_serving_copy_answers_every_case(
    served_backend: EmbeddedBackend, dataset: handmade.Dataset, name: str
) -> None:
    """Catalog-wide queries read the day files (planner.catalog_wide); listing every asset
    asks the same question of the serving copy, whose tables must answer it alike."""
    query = CASES[name]
    if query.filter.asset_ids is None:
        query = dataclasses.replace(query, filter=query.filter.replace_assets(handmade.ASSETS))
    result = await served_backend.execute(query)
    cmp = handmade.compare(result, handmade.oracle(dataset, query), query, exact=False)
    assert cmp.distinct_outside == 0
