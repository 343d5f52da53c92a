"""The "old stack": exact COUNT / COUNT DISTINCT over the warehouse's clean event tables.

It validates the sketch stack (distinct counts must fall inside the sketch bounds) and is
the baseline of the query benchmark. Distinct counts are exact, reported as estimates
whose bounds equal the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from keyart.backends.duckdb.backend import DuckDBBackend
from keyart.backends.duckdb.engine import Cursor
from keyart.backends.duckdb.plan import narrow_by_title
from keyart.backends.duckdb.serving_copy import CopiedTable
from keyart.backends.duckdb.sql import Source
from keyart.backends.duckdb.versions import VersionView
from keyart.backends.legacy.compile import EventSources, compile_events
from keyart.backends.legacy.plan import EVENT_FOLDERS, event_tables
from keyart.backends.legacy.results import read_result
from keyart.query import MetricQuery, QueryResult
from keyart.warehouse.layout import Warehouse


class LegacyBackend(DuckDBBackend):
    """Answers IR queries exactly from the current warehouse version's event tables.

    By default it reads the event day files, as the old stack would; with serving=True it
    reads a serving copy of the events sorted like the embedded backend's rollups, so that
    a benchmark can also compare sketches with exact counting on the same storage layout.
    """

    name = "legacy"
    tables: ClassVar[Mapping[str, CopiedTable]] = {
        table: CopiedTable(f"events/{folder}", schema)
        for folder, (table, schema) in EVENT_FOLDERS.items()
    }

    def __init__(
        self,
        warehouse: Path | str | Warehouse,
        *,
        threads: int | None = None,
        workers: int = 4,
        serving: bool = False,
        cache_dir: Path | str | None = None,
    ) -> None:
        # the old stack reads the event files as they are; serving=True gives it the
        # same sorted serving copy as the embedded backend, for a like-for-like benchmark
        super().__init__(
            warehouse, threads=threads, workers=workers, serving=serving, cache_dir=cache_dir
        )

    def _source(
        self, view: VersionView, folder: str, query: MetricQuery, db: str | None
    ) -> Source | None:
        if db is not None:
            return Source.table(db, EVENT_FOLDERS[folder][0])
        files = view.event_files(folder, query.interval)
        return Source.parquet(files) if files else None

    def answer(
        self, cursor: Cursor, query: MetricQuery, view: VersionView, db: str | None
    ) -> QueryResult:
        """Compile and run one exact query in a worker thread."""
        query = narrow_by_title(query, view.asset_titles())
        needed = event_tables(query)
        sources = EventSources(
            self._source(view, "impressions", query, db) if needed.impressions else None,
            self._source(view, "plays", query, db) if needed.plays else None,
        )
        if sources.impressions is None and sources.plays is None:
            return QueryResult(())
        qualify = view.version.manifest.get("etl", {}).get("qualify_seconds")
        sql = compile_events(query, sources, None if qualify is None else int(qualify))
        return read_result(query, cursor.arrow(sql.text, sql.params))


__all__ = ["LegacyBackend"]
