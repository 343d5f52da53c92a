"""Narrowing listed assets to their titles: the same answer, fewer blocks read."""

from __future__ import annotations

from datetime import date

import pytest

from keyart.backends.duckdb.plan import narrow_by_title
from keyart.query.ir import Filter, Interval, MetricQuery

WINDOW = Interval(date(2024, 1, 1), date(2024, 1, 31))


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
