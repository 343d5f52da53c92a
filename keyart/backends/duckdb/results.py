"""Turns the Arrow result of a compiled DuckDB query into keyart result rows.

The table holds one row per group: a `bucket` column (absent for ALL), one column per
group-by dimension and one per requested metric, named after them. Counts are integers;
how a distinct-count column becomes estimates is the backend's (sketch lists merged by the
embedded backend, exact integers from the legacy one).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pyarrow as pa

from keyart.query.ir import Granularity, Metric, MetricQuery
from keyart.query.results import ZERO, Estimate, MetricValues, QueryResult, ResultRow

# the estimates of one distinct-count column, one per row; `name` names it in errors
ReadEstimates = Callable[[pa.ChunkedArray, str], list[Estimate]]


def exact_estimates(column: pa.ChunkedArray) -> list[Estimate]:
    """One estimate per row of an exact integer column, its bounds equal to its value."""
    return [
        ZERO if v is None or v == 0 else Estimate(float(v), float(v), float(v))
        for v in column.to_pylist()
    ]


def _counts(column: pa.ChunkedArray) -> list[int]:
    return [0 if v is None else int(v) for v in column.to_pylist()]


def read_rows(query: MetricQuery, table: pa.Table, estimates: ReadEstimates) -> QueryResult:
    """Result rows in the table's order; groups whose requested metrics are all zero are
    dropped (absent and zero mean the same to every consumer)."""
    n = table.num_rows
    buckets: list[date | None] = (
        [None] * n if query.granularity is Granularity.ALL else table.column("bucket").to_pylist()
    )
    dim_values = [table.column(dim.value).to_pylist() for dim in query.group_by]
    metric_values: dict[Metric, list[Any]] = {
        metric: (
            estimates(table.column(metric.value), metric.value)
            if metric.is_sketch
            else _counts(table.column(metric.value))
        )
        for metric in query.metrics
    }
    rows: list[ResultRow] = []
    for i in range(n):
        values = {metric.value: metric_values[metric][i] for metric in query.metrics}
        if all(v == 0 or v == ZERO for v in values.values()):
            continue
        dims = tuple(
            (dim, "" if col[i] is None else str(col[i]))
            for dim, col in zip(query.group_by, dim_values, strict=True)
        )
        rows.append(ResultRow(buckets[i], dims, MetricValues(**values)))
    return QueryResult(tuple(rows))


__all__ = ["ReadEstimates", "exact_estimates", "read_rows"]
