"""Turns the result of a compiled DuckDB query (Arrow, or Python tuples when small) into
keyart result rows.

The result holds one row per group: a `bucket` column (absent for ALL), one column per
group-by dimension and one per requested metric, named after them. Counts are integers;
how a distinct-count column becomes estimates is the backend's (sketch lists merged by the
embedded backend, exact integers from the legacy one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeAlias

import pyarrow as pa

from keyart.query.ir import Granularity, Metric, MetricQuery
from keyart.query.results import ZERO, Estimate, MetricValues, QueryResult, ResultRow


@dataclass(frozen=True, slots=True)
class Rows:
    """A small result fetched as Python tuples, with its column names."""

    names: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def column(self, name: str) -> list[Any]:
        """One column's values, in row order."""
        at = self.names.index(name)
        return [row[at] for row in self.rows]


# a statement's result: Arrow (Cursor.arrow), or Python tuples when small (Cursor.rows)
Fetched: TypeAlias = pa.Table | Rows
# one column of it: Arrow, or a list of Python values
Column: TypeAlias = pa.ChunkedArray | list[Any]

# the estimates of one distinct-count column, one per row; `name` names it in errors
ReadEstimates: TypeAlias = Callable[[Column, str], list[Estimate]]


def column_values(column: Column) -> list[Any]:
    """A column's values as Python objects."""
    return column if isinstance(column, list) else column.to_pylist()


def exact_estimates(column: Column) -> list[Estimate]:
    """One estimate per row of an exact integer column, its bounds equal to its value."""
    return [
        ZERO if v is None or v == 0 else Estimate(float(v), float(v), float(v))
        for v in column_values(column)
    ]


def _counts(column: Column) -> list[int]:
    return [0 if v is None else int(v) for v in column_values(column)]


def read_rows(query: MetricQuery, fetched: Fetched, estimates: ReadEstimates) -> QueryResult:
    """Result rows in the result's order; groups whose requested metrics are all zero are
    dropped (absent and zero mean the same to every consumer)."""
    n = fetched.num_rows if isinstance(fetched, pa.Table) else len(fetched.rows)
    buckets: list[date | None] = (
        [None] * n
        if query.granularity is Granularity.ALL
        else column_values(fetched.column("bucket"))
    )
    dim_values = [column_values(fetched.column(dim.value)) for dim in query.group_by]
    metric_values: dict[Metric, list[Any]] = {
        metric: (
            estimates(fetched.column(metric.value), metric.value)
            if metric.is_sketch
            else _counts(fetched.column(metric.value))
        )
        for metric in query.metrics
    }
    rows: list[ResultRow] = []
    for i in range(n):
        row = {metric.value: metric_values[metric][i] for metric in query.metrics}
        if all(v == 0 or v == ZERO for v in row.values()):
            continue
        dims = tuple(
            (dim, "" if col[i] is None else str(col[i]))
            for dim, col in zip(query.group_by, dim_values, strict=True)
        )
        rows.append(ResultRow(buckets[i], dims, MetricValues(**row)))
    return QueryResult(tuple(rows))


__all__ = [
    "Column",
    "Fetched",
    "ReadEstimates",
    "Rows",
    "column_values",
    "exact_estimates",
    "read_rows",
]
