"""Rollup choice: the smallest rollup that answers a query without multiplying counts."""

from __future__ import annotations

from datetime import date

import pytest

from keyart.backends.embedded.planner import (
    WIDE_TITLES,
    catalog_wide,
    choose_rollup,
    matches_nothing,
    narrow_by_title,
)
from keyart.query.ir import Dimension, Filter, Interval, MetricQuery
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


def test_matches_nothing() -> None:
    assert matches_nothing(MetricQuery(WINDOW, filter=Filter(asset_ids=())))
    assert matches_nothing(MetricQuery(WINDOW, filter=Filter(affinities=())))
    assert not matches_nothing(MetricQuery(WINDOW, filter=Filter(asset_ids=("a",))))
    both = Filter(affinities_all=("x", "y"), exclude_affinities=("y",))
    assert matches_nothing(MetricQuery(WINDOW, filter=both))
    assert matches_nothing(
        MetricQuery(WINDOW, filter=Filter(countries=("US",), exclude_countries=("US",)))
    )
    assert not matches_nothing(MetricQuery(WINDOW, filter=Filter(exclude_affinities=("x",))))
    assert not matches_nothing(MetricQuery(WINDOW))


def test_narrow_by_title_adds_the_titles_of_listed_assets() -> None:
    titles = {"a1": "t1", "a2": "t1", "a3": "t2"}
    query = MetricQuery(WINDOW, filter=Filter(asset_ids=("a1", "a3"), countries=("US",)))
    narrowed = narrow_by_title(query, titles)
    assert narrowed.filter == Filter(
        title_ids=("t1", "t2"), asset_ids=("a1", "a3"), countries=("US",)
    )
    assert narrowed.group_by == query.group_by and narrowed.interval == query.interval


@pytest.mark.parametrize(
    "filter_",
    [
        Filter(),
        Filter(asset_ids=("a1", "unknown")),  # an unknown asset: leave the query alone
        Filter(title_ids=("t9",), asset_ids=("a1",)),  # titles already constrained
    ],
)
def test_narrow_by_title_leaves_other_queries_alone(filter_: Filter) -> None:
    query = MetricQuery(WINDOW, filter=filter_)
    assert narrow_by_title(query, {"a1": "t1"}) is query


def test_catalog_wide_queries_read_the_day_files() -> None:
    many = tuple(f"t{i:04d}" for i in range(WIDE_TITLES + 1))
    assert catalog_wide(MetricQuery(WINDOW, filter=Filter(countries=("US",))))
    assert catalog_wide(MetricQuery(WINDOW, filter=Filter(title_ids=many)))
    assert not catalog_wide(MetricQuery(WINDOW, filter=Filter(title_ids=many[:WIDE_TITLES])))
    assert not catalog_wide(MetricQuery(WINDOW, filter=Filter(title_ids=many, asset_ids=("a",))))
