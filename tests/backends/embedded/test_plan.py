"""Rollup choice: the smallest rollup that answers a query without multiplying counts."""

from __future__ import annotations

from datetime import date

import pytest

from keyart.backends.embedded.plan import (
    FEW_ROWS,
    WIDE_TITLES,
    catalog_wide,
    choose_rollup,
    few_rows,
)
from keyart.query.ir import Dimension, Filter, Granularity, Interval, MetricQuery
from keyart.warehouse.tables import ASSET_AFFINITY_DAY, ASSET_AUDIENCE_DAY, ASSET_COUNTRY_DAY

WINDOW = Interval(date(2024, 1, 1), date(2024, 1, 31))


@pytest.mark.parametrize(
    ("filter_", "group_by", "expected"),
    [
        (Filter(), (), ASSET_COUNTRY_DAY),
        (Filter(countries=("US",), asset_ids=("a",)), (Dimension.COUNTRY,), ASSET_COUNTRY_DAY),
        (Filter(), (Dimension.AFFINITY,), ASSET_AFFINITY_DAY),
        (Filter(affinities=("x",)), (), ASSET_AFFINITY_DAY),
        (Filter(affinities=("x",)), (Dimension.ASSET,), ASSET_AFFINITY_DAY),
        (Filter(affinities=("x", "y")), (Dimension.AFFINITY,), ASSET_AFFINITY_DAY),
        (Filter(affinities=("x", "y")), (), ASSET_AUDIENCE_DAY),
        (Filter(affinities=("x", "y", "z")), (Dimension.COUNTRY,), ASSET_AUDIENCE_DAY),
        (Filter(exclude_countries=("US",)), (), ASSET_COUNTRY_DAY),
        (Filter(affinities_all=("x",)), (), ASSET_AFFINITY_DAY),  # "has x": one label
        (Filter(affinities=("x",), affinities_all=("x",)), (), ASSET_AFFINITY_DAY),
        (Filter(affinities_all=("x", "y")), (), ASSET_AUDIENCE_DAY),
        (Filter(exclude_affinities=("x",)), (), ASSET_AUDIENCE_DAY),
        (Filter(affinities=("x",), exclude_affinities=("y",)), (), ASSET_AUDIENCE_DAY),
        (Filter(affinities=("x", "y")), (Dimension.AFFINITY,), ASSET_AFFINITY_DAY),
        (Filter(affinities_all=("x",)), (Dimension.AFFINITY,), ASSET_AUDIENCE_DAY),
        (Filter(exclude_affinities=("x",)), (Dimension.AFFINITY,), ASSET_AUDIENCE_DAY),
    ],
)
def test_choose_rollup(filter_: Filter, group_by: tuple[Dimension, ...], expected: object) -> None:
    assert choose_rollup(MetricQuery(WINDOW, filter=filter_, group_by=group_by)) is expected


def test_chosen_rollup_can_group_by_the_query_dimensions() -> None:
    for group_by in [(d,) for d in Dimension]:
        query = MetricQuery(WINDOW, group_by=group_by)
        assert set(group_by) <= choose_rollup(query).dimensions


def test_catalog_wide_queries_read_the_day_files() -> None:
    many = tuple(f"t{i:04d}" for i in range(WIDE_TITLES + 1))
    assert catalog_wide(MetricQuery(WINDOW, filter=Filter(countries=("US",))))
    assert catalog_wide(MetricQuery(WINDOW, filter=Filter(title_ids=many)))
    assert not catalog_wide(MetricQuery(WINDOW, filter=Filter(title_ids=many[:WIDE_TITLES])))
    assert not catalog_wide(MetricQuery(WINDOW, filter=Filter(title_ids=many, asset_ids=("a",))))


def test_few_rows_by_the_query_shape() -> None:
    """At most FEW_ROWS groups, by the entities the query lists and groups by, over at most
    FEW_CELLS rollup rows."""
    ten = tuple(f"a{i}" for i in range(10))
    sixteen = tuple(f"a{i}" for i in range(FEW_ROWS))
    title = Filter(title_ids=("t1",))
    by_asset = (Dimension.ASSET,)
    assert few_rows(MetricQuery(WINDOW, filter=Filter(asset_ids=("a1",))))  # one total
    assert few_rows(MetricQuery(WINDOW, filter=Filter(asset_ids=ten), group_by=by_asset))
    us = Filter(asset_ids=ten, countries=("US",))
    assert few_rows(MetricQuery(WINDOW, filter=us, group_by=by_asset))  # a title page
    assert few_rows(MetricQuery(WINDOW, filter=title, group_by=(Dimension.TITLE,)))
    # more listed assets than FEW_ROWS; a title's assets (not listed); a breakdown; a series
    many = Filter(asset_ids=(*sixteen, "x"))
    assert not few_rows(MetricQuery(WINDOW, filter=many, group_by=by_asset))
    assert not few_rows(MetricQuery(WINDOW, filter=title, group_by=by_asset))
    breakdown = (Dimension.ASSET, Dimension.AFFINITY)
    assert not few_rows(MetricQuery(WINDOW, filter=Filter(asset_ids=("a1",)), group_by=breakdown))
    assert not few_rows(MetricQuery(WINDOW, Granularity.DAY, filter=Filter(asset_ids=("a1",))))
    # one row, but across the catalog; or from more rollup rows than FEW_CELLS
    assert not few_rows(MetricQuery(WINDOW))
    year = Interval(date(2024, 1, 1), date(2024, 12, 31))
    assert few_rows(MetricQuery(year, filter=Filter(asset_ids=("a1",))))
    assert not few_rows(MetricQuery(year, filter=Filter(asset_ids=ten), group_by=by_asset))
    countries = Filter(asset_ids=("a1",), countries=("US", "BR", "FR"))
    assert not few_rows(MetricQuery(year, filter=countries))
