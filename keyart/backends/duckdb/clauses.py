"""SQL clauses of an IR query that every DuckDB backend compiles alike: time buckets,
group keys, the day range, scalar filters and member-level affinity filters."""

from __future__ import annotations

from keyart.backends.duckdb.sql import Params
from keyart.query.ir import Dimension, Filter, Granularity, MetricQuery

_SCALAR_DIMENSIONS = (Dimension.TITLE, Dimension.ASSET, Dimension.ASSET_TYPE, Dimension.COUNTRY)


def member_filters(filter_: Filter, column: str, params: Params) -> list[str]:
    """Conditions on a member's label list (`column`): any-of, all-of and none-of."""
    parts = []
    if filter_.affinities is not None:
        parts.append(params.any_label(column, filter_.affinities))
    if filter_.affinities_all is not None:
        parts.append(params.all_labels(column, filter_.affinities_all))
    if filter_.exclude_affinities is not None:
        parts.append(params.no_label(column, filter_.exclude_affinities))
    return parts


def bucket_expr(granularity: Granularity, column: str = "day") -> str | None:
    """The SQL bucket start of a day column (ISO Monday weeks, 1st of months); None for ALL."""
    if granularity is Granularity.DAY:
        return column
    if granularity is Granularity.WEEK:
        return f"CAST(date_trunc('week', {column}) AS DATE)"
    if granularity is Granularity.MONTH:
        return f"CAST(date_trunc('month', {column}) AS DATE)"
    return None


def key_columns(query: MetricQuery) -> list[str]:
    """Output names of the group key columns: `bucket` (unless ALL), then the dimensions."""
    keys = [] if query.granularity is Granularity.ALL else ["bucket"]
    return keys + [dim.value for dim in query.group_by]


def key_select(query: MetricQuery) -> list[str]:
    """SELECT items producing the key columns (dimension columns keep their names)."""
    bucket = bucket_expr(query.granularity)
    items = [] if bucket is None else [f"{bucket} AS bucket"]
    return items + [dim.value for dim in query.group_by]


def day_and_scalar_filters(query: MetricQuery, params: Params) -> list[str]:
    """The inclusive day range, the any-of filters on the single-valued dimensions and the
    excluded countries."""
    parts = [
        f"day BETWEEN {params.bind(query.interval.start)} AND {params.bind(query.interval.end)}"
    ]
    constraints = query.filter.constraints()
    for dim in _SCALAR_DIMENSIONS:
        values = constraints.get(dim)
        if values is not None:
            parts.append(params.in_list(dim.value, values))
            if len(values) > 1:
                # redundant, but DuckDB prunes blocks by min/max only for ranges: an IN
                # list is not used against zone maps
                low, high = params.bind(values[0]), params.bind(values[-1])
                parts.append(f"{dim.value} BETWEEN {low} AND {high}")
    if query.filter.exclude_countries is not None:
        parts.append(params.not_in_list(Dimension.COUNTRY.value, query.filter.exclude_countries))
    return parts


__all__ = [
    "bucket_expr",
    "day_and_scalar_filters",
    "key_columns",
    "key_select",
    "member_filters",
]
