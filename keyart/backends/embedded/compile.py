"""Compiles IR queries to DuckDB SQL over the warehouse rollups, every user value bound.

The SQL returns one row per group, ordered by group: a `bucket` column (absent for ALL),
one column per group-by dimension named after it, and one column per requested metric
named after it — counts as BIGINT sums, distinct counts as the list of the group's sketch
blobs (merged by the caller with DataSketches).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from keyart.query.ir import Dimension, Filter, Granularity, Metric, MetricQuery
from keyart.warehouse.tables import Rollup

# rollup measure column of each metric
MEASURE_OF: dict[Metric, str] = {
    Metric.IMPRESSIONS: "impressions",
    Metric.UNIQUE_IMPRESSIONS: "imp_sketch",
    Metric.QUALIFIED_PLAYS: "qualified_plays",
    Metric.UNIQUE_PLAYERS: "play_sketch",
    Metric.PLAY_SECONDS: "play_seconds",
    Metric.ENGAGED_PLAYS: "engaged_plays",
}

# `day` is stored in the files; hive partition columns would only duplicate it
READ_PARQUET = "read_parquet(?, hive_partitioning = false)"

_SCALAR_DIMENSIONS = (Dimension.TITLE, Dimension.ASSET, Dimension.ASSET_TYPE, Dimension.COUNTRY)


@dataclass(frozen=True, slots=True)
class Source:
    """Where a table's rows come from: a FROM item and the parameters it binds."""

    sql: str
    params: tuple[Any, ...] = ()

    @staticmethod
    def parquet(files: Sequence[str]) -> Source:
        """The given Parquet files (non-empty)."""
        if not files:
            raise ValueError("a Parquet source needs at least one file")
        return Source(READ_PARQUET, (list(files),))

    @staticmethod
    def table(database: str, name: str) -> Source:
        """A table of an attached serving database (identifiers we generate, not user values)."""
        return Source(f"{database}.{name}")

    def bind(self, params: Params) -> str:
        """The FROM item, with its parameters bound in place."""
        for value in self.params:
            params.bind(value)
        return self.sql


@dataclass(frozen=True, slots=True)
class Sql:
    """A statement and its bound parameters, in placeholder order."""

    text: str
    params: tuple[Any, ...]


class Params:
    """Collects bound parameters while SQL text is assembled; returns placeholders."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def bind(self, value: Any) -> str:
        """A placeholder for one value."""
        self.values.append(value)
        return "?"

    def in_list(self, column: str, values: Sequence[str]) -> str:
        """`column = ?` or `column IN (?, …)` over non-empty values."""
        if not values:
            raise ValueError(f"empty value list for {column}; check matches_nothing first")
        if len(values) == 1:
            return f"{column} = {self.bind(values[0])}"
        return f"{column} IN ({', '.join(self.bind(v) for v in values)})"

    def not_in_list(self, column: str, values: Sequence[str]) -> str:
        """`column <> ?` or `column NOT IN (?, …)` over non-empty values."""
        if not values:
            raise ValueError(f"empty exclusion list for {column}")
        if len(values) == 1:
            return f"{column} <> {self.bind(values[0])}"
        return f"{column} NOT IN ({', '.join(self.bind(v) for v in values)})"

    def any_label(self, column: str, labels: Sequence[str]) -> str:
        """A multi-value any-of match: the row's label list shares a label with `labels`."""
        return f"list_has_any({column}, CAST({self.bind(list(labels))} AS VARCHAR[]))"

    def all_labels(self, column: str, labels: Sequence[str]) -> str:
        """A multi-value all-of match: the row's label list holds every one of `labels`."""
        return f"list_has_all({column}, CAST({self.bind(list(labels))} AS VARCHAR[]))"

    def no_label(self, column: str, labels: Sequence[str]) -> str:
        """A multi-value none-of match: the row's label list holds none of `labels` (an
        empty or missing list holds none)."""
        labels_param = self.bind(list(labels))
        return f"NOT coalesce(list_has_any({column}, CAST({labels_param} AS VARCHAR[])), false)"


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


def affinity_filters(filter_: Filter, rollup: Rollup, grouped: bool, params: Params) -> list[str]:
    """Affinity conditions for a rollup chosen by the planner (exploded or multi-value)."""
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
            # in any order: merge.group_estimates fixes its own, so answers are repeatable
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


__all__ = [
    "MEASURE_OF",
    "READ_PARQUET",
    "Params",
    "Source",
    "Sql",
    "affinity_filters",
    "bucket_expr",
    "compile_rollup",
    "day_and_scalar_filters",
    "key_columns",
    "key_select",
    "member_filters",
    "metric_select",
]
