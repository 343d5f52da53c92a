"""What only the embedded backend does: new versions and their serving copies, falling back
to day files, corrupt files and sketches, and sketch bounds at low precision (the answers
themselves are checked by the conformance suite, tests/backends/test_conformance.py)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from keyart.backends.duckdb.serving_copy import FORMAT
from keyart.backends.embedded import EmbeddedBackend
from keyart.backends.embedded import backend as embedded_backend
from keyart.config import EtlSettings
from keyart.errors import BackendUnavailable
from keyart.etl.embedded import ingest
from keyart.query.ir import Dimension, Granularity, Metric, MetricQuery
from keyart.query.results import QueryResult
from keyart.warehouse.layout import Warehouse
from tests.backends import handmade
from tests.backends.cases import Universe, cases
from tests.backends.handmade import CASES

# sketch precision of the low-precision tiny warehouse (bounds are tested in HLL mode)
LOW_LG_K = 5


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
    handmade_warehouse: Path, handmade_events: handmade.Dataset, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    backend = EmbeddedBackend(handmade_warehouse, cache_dir=blocker / "cache")
    try:
        assert not await backend.wait_until_served(timeout=120)
        assert backend.serving_state() == "failed"
        result = await backend.execute(CASES["by_asset"])
        handmade.compare(
            result,
            handmade.oracle(handmade_events, CASES["by_asset"]),
            CASES["by_asset"],
            exact=False,
        )
    finally:
        await backend.aclose()


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


@pytest.fixture(scope="module")
def tiny_warehouse_low_precision(tiny_raw: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny data ingested with lgK=5, so that many groups hold far more members than
    the sketch keeps exactly and the bounds are really put to the test."""
    wh = tmp_path_factory.mktemp("tiny-wh-lg5") / "warehouse"
    ingest(tiny_raw, wh, EtlSettings(lg_k=LOW_LG_K), progress=False, publish_snapshot=False)
    return wh


async def test_bounds_hold_in_estimation_mode(
    tiny_warehouse_low_precision: Path, tiny_truth: handmade.Dataset, tiny_universe: Universe
) -> None:
    """At lgK=5 most groups exceed what a sketch keeps exactly; the exact distinct count
    must still fall inside the 2-sigma bounds for at least 95% of them."""
    whole = cases(tiny_universe)["total"].interval
    backend = EmbeddedBackend(tiny_warehouse_low_precision)
    checked = inside = 0
    try:
        for granularity in (Granularity.ALL, Granularity.WEEK):
            for group_by in (
                (Dimension.ASSET,),
                (Dimension.TITLE, Dimension.COUNTRY),
                (Dimension.ASSET, Dimension.AFFINITY),
                (Dimension.COUNTRY, Dimension.AFFINITY),
            ):
                query = MetricQuery(whole, granularity, group_by=group_by)
                result = await backend.execute(query)
                truth = handmade.oracle(tiny_truth, query)
                handmade.compare(result, truth, query, exact=False)  # counts still exact
                for row in result.rows:
                    t = truth[(row.bucket, row.dims)]
                    for metric in ("unique_impressions", "unique_players"):
                        exact = len(getattr(t, metric))
                        if exact >= 2**LOW_LG_K:
                            est = getattr(row.metrics, metric)
                            checked += 1
                            inside += est.lower <= exact <= est.upper
    finally:
        await backend.aclose()
    assert checked >= 300
    assert inside >= 0.95 * checked


async def test_results_as_tuples_and_as_arrow_answer_alike(
    tiny_warehouse: Path,
    tiny_truth: handmade.Dataset,
    tiny_universe: Universe,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every conformance case answered with every result fetched as Python tuples, and with
    every result fetched as Arrow: the same answers, matching the exact oracle."""
    answers: dict[bool, dict[str, QueryResult]] = {}
    for as_rows in (False, True):
        monkeypatch.setattr(embedded_backend, "few_rows", lambda _query, r=as_rows: r)
        backend = EmbeddedBackend(tiny_warehouse, cache_dir=tmp_path / f"cache-{as_rows}")
        try:
            assert await backend.wait_until_served(timeout=120)
            answers[as_rows] = {
                name: await backend.execute(query) for name, query in cases(tiny_universe).items()
            }
        finally:
            await backend.aclose()
    assert answers[False] == answers[True]
    for name, query in cases(tiny_universe).items():
        truth = handmade.oracle(tiny_truth, query)
        handmade.compare(answers[True][name], truth, query, exact=False)
