"""Turns the Arrow result of a compiled query into keyart result rows.

Count columns are integers; a distinct-count column is either the list of a group's sketch
blobs (merged by merge.group_estimates) or an exact integer (the legacy path), reported
as an estimate whose bounds equal the value.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pyarrow as pa

from keyart.backends.embedded.merge import group_estimates
from keyart.errors import BackendUnavailable
from keyart.query.ir import Granularity, Metric, MetricQuery
from keyart.query.results import ZERO, Estimate, MetricValues, QueryResult, ResultRow


def _estimates(column: pa.ChunkedArray, lg_k: int, name: str) -> list[Estimate]:
    """One estimate per row of a list<binary> column of sketches, or of an exact integer."""
    if pa.types.is_integer(column.type):
        return [
            ZERO if v is None or v == 0 else Estimate(float(v), float(v), float(v))
            for v in column.to_pylist()
        ]
    try:
        return group_estimates(column, lg_k)
    except (ValueError, RuntimeError, IndexError) as exc:  # what DataSketches raises
        raise BackendUnavailable(f"the warehouse holds a corrupt {name} sketch") from exc


def _counts(column: pa.ChunkedArray) -> list[int]:
    return [0 if v is None else int(v) for v in column.to_pylist()]


def read_result(query: MetricQuery, table: pa.Table, lg_k: int) -> QueryResult:
    """Result rows in the table's order; groups whose requested metrics are all zero are
    dropped (absent and zero mean the same to every consumer)."""
    n = table.num_rows
    buckets: list[date | None] = (
        [None] * n if query.granularity is Granularity.ALL else table.column("bucket").to_pylist()
    )
    dim_values = [table.column(dim.value).to_pylist() for dim in query.group_by]
    metric_values: dict[Metric, list[Any]] = {
        metric: (
            _estimates(table.column(metric.value), lg_k, metric.value)
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


__all__ = ["read_result"]
