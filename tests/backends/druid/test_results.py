"""Parsing of Druid result JSON (in the documented timeseries/groupBy shapes) into rows."""

from __future__ import annotations

from datetime import date

import pytest

from keyart.backends.druid.results import parse_result
from keyart.errors import BadQuery
from keyart.query import Dimension, Estimate, Granularity, Interval, Metric, MetricQuery

WINDOW = Interval(date(2024, 1, 3), date(2024, 1, 30))


def test_timeseries_rows_get_buckets_counts_and_estimates() -> None:
    query = MetricQuery(WINDOW, Granularity.WEEK)
    payload = [
        {
            "timestamp": "2024-01-01T00:00:00.000Z",
            "result": {
                "impressions": 10,
                "imp_sketch": 4.0,
                "unique_impressions": [4.0, 3.9, 4.1],
                "qualified_plays": 3,
                "unique_players": [2.0, 2.0, 2.0001],
                "play_seconds": 900.0,
                "engaged_plays": 1,
            },
        }
    ]
    (row,) = parse_result(query, payload).rows
    assert row.bucket == date(2024, 1, 1)  # the Monday, although the window starts later
    assert row.dims == ()
    m = row.metrics
    assert (m.impressions, m.qualified_plays, m.play_seconds, m.engaged_plays) == (10, 3, 900, 1)
    assert isinstance(m.play_seconds, int)
    assert m.unique_impressions == Estimate(4.0, 3.9, 4.1)
    assert m.unique_players == Estimate(2.0, 2.0, 2.0001)


def test_all_granularity_has_no_bucket_and_unrequested_metrics_are_zero() -> None:
    query = MetricQuery(WINDOW, metrics=(Metric.IMPRESSIONS,))
    (row,) = parse_result(
        query, [{"timestamp": "2024-01-03T00:00:00.000Z", "result": {"impressions": 5}}]
    ).rows
    assert row.bucket is None
    assert row.metrics.impressions == 5
    assert row.metrics.unique_impressions == Estimate(0.0, 0.0, 0.0)


def test_group_by_rows_drop_the_null_affinity_group() -> None:
    query = MetricQuery(
        WINDOW, group_by=(Dimension.COUNTRY, Dimension.AFFINITY), metrics=(Metric.IMPRESSIONS,)
    )
    payload = [
        {
            "version": "v1",
            "timestamp": "2024-01-03T00:00:00.000Z",
            "event": {"country": "US", "affinity": "Anime fans", "impressions": 2},
        },
        {
            "version": "v1",
            "timestamp": "2024-01-03T00:00:00.000Z",
            "event": {"country": "US", "affinity": None, "impressions": 7},
        },
        {
            "version": "v1",
            "timestamp": "2024-01-03T00:00:00.000Z",
            "event": {"country": "DE", "impressions": 1},
        },
    ]
    rows = parse_result(query, payload).rows
    assert [
        (r.get(Dimension.COUNTRY), r.get(Dimension.AFFINITY), r.metrics.impressions) for r in rows
    ] == [("US", "Anime fans", 2)]


@pytest.mark.parametrize(
    "payload",
    [
        {"error": "x"},
        [{"timestamp": "2024-01-03T00:00:00.000Z"}],
        [{"timestamp": "2024-01-03T00:00:00.000Z", "result": {"impressions": "many"}}],
    ],
)
def test_unexpected_shapes_raise_bad_query(payload: object) -> None:
    with pytest.raises(BadQuery):
        parse_result(MetricQuery(WINDOW, metrics=(Metric.IMPRESSIONS,)), payload)


def test_estimate_must_be_a_triple() -> None:
    query = MetricQuery(WINDOW, metrics=(Metric.UNIQUE_PLAYERS,))
    bad = [{"timestamp": "2024-01-03T00:00:00.000Z", "result": {"unique_players": 3.0}}]
    with pytest.raises(BadQuery, match="unique_players"):
        parse_result(query, bad)


def test_groups_whose_requested_metrics_are_all_zero_are_dropped() -> None:
    query = MetricQuery(
        WINDOW, group_by=(Dimension.ASSET,), metrics=(Metric.QUALIFIED_PLAYS, Metric.UNIQUE_PLAYERS)
    )
    payload = [
        {"timestamp": "2024-01-03T00:00:00.000Z",
         "event": {"asset_id": "seen-not-played", "qualified_plays": 0,
                   "unique_players": [0.0, 0.0, 0.0]}},
        {"timestamp": "2024-01-03T00:00:00.000Z",
         "event": {"asset_id": "played", "qualified_plays": 2,
                   "unique_players": [1.0, 1.0, 1.0001]}},
    ]  # fmt: skip
    rows = parse_result(query, payload).rows
    assert [r.get(Dimension.ASSET) for r in rows] == ["played"]
