"""End to end: generate tiny raw data, ingest it, and check the embedded backend against
truth computed independently from the raw files (tests/truth.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from keyart.backends.embedded import EmbeddedBackend
from keyart.config import EtlSettings
from keyart.etl.embedded import ingest
from keyart.query.ir import Dimension, Filter, Granularity, MetricQuery
from tests.backends import handmade
from tests.backends.cases import Universe, cases, fine_grained
from tests.backends.served import STORAGES, opened

CASE_NAMES = sorted(cases(handmade.UNIVERSE))
# sketch precision of the low-precision tiny warehouse (bounds are tested in HLL mode)
LOW_LG_K = 5


@pytest.fixture(params=STORAGES)
async def embedded(
    tiny_warehouse: Path, tiny_serving_cache: Path, request: pytest.FixtureRequest
) -> AsyncIterator[EmbeddedBackend]:
    """The backend over the day files, or over the version's serving copy (built in a
    folder of this test session: the shared warehouse stays untouched)."""
    async with opened(
        EmbeddedBackend, tiny_warehouse, request.param, cache_dir=tiny_serving_cache, timeout=300
    ) as backend:
        yield backend


@pytest.fixture(scope="module")
def tiny_warehouse_low_precision(tiny_raw: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny data ingested with lgK=5, so that many groups hold far more members than
    the sketch keeps exactly and the bounds are really put to the test."""
    wh = tmp_path_factory.mktemp("tiny-wh-lg5") / "warehouse"
    ingest(tiny_raw, wh, EtlSettings(lg_k=LOW_LG_K), progress=False, publish_snapshot=False)
    return wh


@pytest.mark.parametrize("name", CASE_NAMES)
async def test_matches_raw_truth(
    embedded: EmbeddedBackend, tiny_truth: handmade.Dataset, tiny_universe: Universe, name: str
) -> None:
    query = cases(tiny_universe)[name]
    result = await embedded.execute(query)
    cmp = handmade.compare(result, handmade.oracle(tiny_truth, query), query, exact=False)
    assert cmp.distinct_outside <= 0.05 * max(cmp.distinct_checked, 1)


async def test_distinct_bounds_cover_truth_in_95_percent_of_groups(
    embedded: EmbeddedBackend, tiny_truth: handmade.Dataset, tiny_universe: Universe
) -> None:
    query = fine_grained(tiny_universe)
    result = await embedded.execute(query)
    cmp = handmade.compare(result, handmade.oracle(tiny_truth, query), query, exact=False)
    assert cmp.distinct_checked > 1000
    assert cmp.distinct_outside <= 0.05 * cmp.distinct_checked


async def test_title_distincts_span_assets(
    embedded: EmbeddedBackend, tiny_truth: handmade.Dataset, tiny_universe: Universe
) -> None:
    """A title's unique impressions count each member once across its assets (union of
    sketches), not the sum over assets."""
    whole = cases(tiny_universe)["total"].interval
    title = tiny_universe.titles[0]
    by_title = await embedded.execute(MetricQuery(whole, filter=Filter(title_ids=(title,))))
    by_asset = await embedded.execute(
        MetricQuery(whole, filter=Filter(title_ids=(title,)), group_by=(Dimension.ASSET,))
    )
    exact = len({e.member for e in tiny_truth.impressions if e.title == title})
    est = by_title.rows[0].metrics.unique_impressions
    assert est.lower <= exact <= est.upper
    summed = sum(r.metrics.unique_impressions.value for r in by_asset.rows)
    assert summed > est.upper  # members see several assets of a title


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
