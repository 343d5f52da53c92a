"""Compiles IR queries to DuckDB SQL over the warehouse rollups, every user value bound.

The SQL returns one row per group, ordered by group: a `bucket` column (absent for ALL),
one column per group-by dimension named after it, and one column per requested metric
named after it — counts as BIGINT sums, distinct counts as the list of the group's sketch
blobs (merged by the caller with DataSketches).
"""

from __future__ import annotations

from collections.abc import Sequence

from keyart.backends.duckdb.clauses import (
    day_and_scalar_filters,
    key_columns,
    key_select,
    member_filters,
)
from keyart.backends.duckdb.sql import Params, Source, Sql
from keyart.query.ir import Dimension, Filter, Metric, MetricQuery
from keyart.warehouse.tables import MEASURE_OF, Rollup


def affinity_filters(filter_: Filter, rollup: Rollup, grouped: bool, params: Params) -> list[str]:
    """Affinity conditions for a rollup chosen by plan.choose_rollup (exploded or multi-value)."""
    if rollup.affinity == "exploded":
        # a member without labels has no exploded row to group under (a null row, if the
        # ETL wrote one, forms no group either: Druid's null group is dropped everywhere)
        parts = ["affinity IS NOT NULL"]
        if grouped:
            if filter_.affinities_all is not None or filter_.exclude_affinities is not None:
                raise ValueError("exploded rows cannot tell a member's other labels")
            if filter_.affinities is not None:
                parts.append(params.in_list("affinity", filter_.affinities))
            return parts
        label = filter_.single_label
        if label is None:
            raise ValueError("the exploded affinity rollup answers one-label filters only")
        parts.append(params.in_list("affinity", (label,)))
        return parts
    if rollup.affinity == "multi":
        if not filter_.uses_affinities and not grouped:
            raise ValueError("the multi-value affinity rollup needs an affinity filter or group")
        return member_filters(filter_, "affinities", params)
    if filter_.uses_affinities or grouped:
        raise ValueError(f"rollup {rollup.name} has no affinities")
    return []


def metric_select(metrics: Sequence[Metric]) -> list[str]:
    """Aggregates of the requested metrics: exact sums, or the group's non-null sketches."""
    items = []
    for metric in metrics:
        column = MEASURE_OF[metric]
        if metric.is_sketch:
            # in any order: unions.group_estimates fixes its own, so answers are repeatable
            items.append(f"list({column}) FILTER (WHERE {column} IS NOT NULL) AS {metric.value}")
        else:
            items.append(f"CAST(SUM({column}) AS BIGINT) AS {metric.value}")
    return items


def compile_rollup(query: MetricQuery, rollup: Rollup, source: Source) -> Sql:
    """SQL answering `query` from `rollup`'s rows in `source`."""
    unsupported = set(query.group_by) - rollup.dimensions
    if unsupported:
        raise ValueError(f"rollup {rollup.name} cannot group by {sorted(unsupported)}")
    params = Params()
    from_item = source.bind(params)
    grouped = Dimension.AFFINITY in query.group_by
    where = day_and_scalar_filters(query, params)
    where += affinity_filters(query.filter, rollup, grouped, params)
    if grouped and rollup.affinity == "multi":
        # one row per label of each member set that passed the member-level filters; only
        # the listed labels form groups when the filter lists some (Druid's listFiltered)
        from_item = (
            f"(SELECT *, unnest(affinities) AS affinity FROM {from_item} "
            f"WHERE {' AND '.join(where)}) AS labelled"
        )
        labels = query.filter.affinities
        where = [] if labels is None else [params.in_list("affinity", labels)]
    keys = key_columns(query)
    lines = [
        "SELECT " + ", ".join(key_select(query) + metric_select(query.metrics)),
        f"FROM {from_item}",
    ]
    if where:
        lines.append("WHERE " + " AND ".join(where))
    if keys:
        lines.append("GROUP BY ALL")
    if query.min_impressions > 0:
        # before any sketch is merged: the caller merges only the groups that stay
        lines.append(f"HAVING SUM(impressions) >= {params.bind(query.min_impressions)}")
    if keys:
        lines.append("ORDER BY " + ", ".join(keys))
    return Sql("\n".join(lines), tuple(params.values))


__all__ = ["affinity_filters", "compile_rollup", "metric_select"]
