"""Split a query into two with disjoint groups, for when Druid's groupBy runs out of memory.

A groupBy holds every group's HLL unions (16 KiB each at lgK 14) in a fixed merge buffer;
too many groups fail with "Resource limit exceeded". Halving a filtered group-by list, or
the time buckets, gives two queries whose groups are disjoint, so their rows concatenate
to the answer of the original query.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from keyart.query.ir import Dimension, Granularity, Interval, MetricQuery
from keyart.query.time import buckets

RESOURCE_LIMIT = "Resource limit exceeded"

_FILTER_FIELD: dict[Dimension, str] = {
    Dimension.TITLE: "title_ids",
    Dimension.ASSET: "asset_ids",
    Dimension.ASSET_TYPE: "asset_types",
    Dimension.COUNTRY: "countries",
    Dimension.AFFINITY: "affinities",
}


def split(query: MetricQuery) -> tuple[MetricQuery, MetricQuery] | None:
    """Two queries with disjoint groups answering `query` together; None if impossible.

    Prefers halving the longest filter list of a grouped dimension (an affinity group only
    depends on rows carrying its label, so halving listed affinities is safe too), then
    halving the time buckets; an ungrouped, single-bucket query cannot be split.
    """
    listed = [
        (len(values), dim)
        for dim, values in query.filter.constraints().items()
        if dim in query.group_by and len(values) >= 2
    ]
    if listed:
        _, dim = max(listed, key=lambda pair: pair[0])
        values = query.filter.constraints()[dim]
        half = len(values) // 2
        name = _FILTER_FIELD[dim]
        first = replace(query.filter, **{name: values[:half]})
        second = replace(query.filter, **{name: values[half:]})
        return replace(query, filter=first), replace(query, filter=second)
    if query.granularity is Granularity.ALL:
        return None
    starts = buckets(query.interval, query.granularity)
    if len(starts) < 2:
        return None
    cut = starts[len(starts) // 2]  # first day of the second half's first bucket
    first_half = Interval(query.interval.start, cut - timedelta(days=1))
    second_half = Interval(cut, query.interval.end)
    return replace(query, interval=first_half), replace(query, interval=second_half)


__all__ = ["RESOURCE_LIMIT", "split"]
