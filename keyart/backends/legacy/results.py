"""Reads the legacy backend's SQL results: distinct counts are exact integers, reported as
estimates whose bounds equal the value."""

from __future__ import annotations

import pyarrow as pa

from keyart.backends.duckdb.results import exact_estimates, read_rows
from keyart.query.ir import MetricQuery
from keyart.query.results import QueryResult


def read_result(query: MetricQuery, table: pa.Table) -> QueryResult:
    """The result rows of `compile_events`' answer."""
    return read_rows(query, table, lambda column, _name: exact_estimates(column))


__all__ = ["read_result"]
