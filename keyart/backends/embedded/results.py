"""Reads the embedded backend's SQL results: a distinct-count column holds each group's
list of sketch blobs, merged here with DataSketches (keyart.sketches.unions.group_estimates)."""

from __future__ import annotations

from keyart.backends.duckdb.results import Column, Fetched, read_rows
from keyart.errors import BackendUnavailable
from keyart.query.ir import MetricQuery
from keyart.query.results import Estimate, QueryResult
from keyart.sketches.unions import group_estimates


def read_result(query: MetricQuery, fetched: Fetched, lg_k: int) -> QueryResult:
    """The result rows of `compile_rollup`'s answer, sketches merged at precision `lg_k`."""

    def estimates(column: Column, name: str) -> list[Estimate]:
        try:
            return group_estimates(column, lg_k)
        except (ValueError, RuntimeError, IndexError) as exc:  # what DataSketches raises
            raise BackendUnavailable(f"the warehouse holds a corrupt {name} sketch") from exc

    return read_rows(query, fetched, estimates)


__all__ = ["read_result"]
