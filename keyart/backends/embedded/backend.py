"""The default OLAP backend: DuckDB over the warehouse's daily sketch rollups."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from keyart.backends.duckdb.backend import DuckDBBackend
from keyart.backends.duckdb.engine import Cursor
from keyart.backends.duckdb.plan import narrow_by_title
from keyart.backends.duckdb.serving_copy import CopiedTable, MergedTable
from keyart.backends.duckdb.sql import Source
from keyart.backends.duckdb.versions import VersionView
from keyart.backends.embedded.compile import compile_rollup
from keyart.backends.embedded.plan import (
    ALL_COUNTRIES,
    catalog_wide,
    choose_rollup,
    few_rows,
    serving_table,
)
from keyart.backends.embedded.results import read_result
from keyart.query import MetricQuery, QueryResult
from keyart.sketches.unions import group_sketches
from keyart.warehouse.tables import ROLLUPS

_KEY = ("day", "title_id", "asset_id", "asset_type", "country")


class EmbeddedBackend(DuckDBBackend):
    """Answers IR queries from the current warehouse version with DuckDB and DataSketches.

    Each query reads the smallest rollup that can answer it (plan.choose_rollup), from
    the version's serving copy once built (see duckdb/serving_copy.py; it also holds the rollups
    merged over countries, read when a query neither filters nor groups by country),
    else from its day files; a query across the catalog (plan.catalog_wide) reads the
    window's day files even when the copy is ready.
    Distinct counts merge the groups' HLL sketches. A newly published version is picked
    up by the next query (CURRENT is checked with one stat per query).
    """

    name = "embedded"
    tables: ClassVar[Mapping[str, CopiedTable]] = {
        r.name: CopiedTable(f"rollups/{r.name}", r.schema) for r in ROLLUPS
    }
    merged: ClassVar[Mapping[str, MergedTable]] = {
        name: MergedTable(base, tuple(c for c in _KEY if c != "country") + extra, group_sketches)
        for base, (name, extra) in ALL_COUNTRIES.items()
    }
    # compressed materialization packs the keys and payload of big aggregates and sorts
    # into smaller types; a rollup query groups a few dozen to a few thousand rows, where
    # planning it costs ~0.2-0.35 ms of a 2-4 ms statement and saves nothing
    disabled_optimizers = ("compressed_materialization",)

    def answer(
        self, cursor: Cursor, query: MetricQuery, view: VersionView, db: str | None
    ) -> QueryResult:
        """Compile, run and merge one query in a worker thread."""
        rollup = choose_rollup(query)
        query = narrow_by_title(query, view.asset_titles())
        if db is not None and not catalog_wide(query):
            source = Source.table(db, serving_table(query, rollup))
        else:
            files = view.rollup_files(rollup.name, query.interval)
            if not files:
                return QueryResult(())
            source = Source.parquet(files)
        sql = compile_rollup(query, rollup, source)
        fetch = cursor.rows if few_rows(query) else cursor.arrow
        return read_result(query, fetch(sql.text, sql.params), view.version.lg_k)


__all__ = ["EmbeddedBackend"]
