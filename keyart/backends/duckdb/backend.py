"""The base of the DuckDB backends (embedded, legacy): following the warehouse's current
version, its serving copy, the worker threads, and one retry when a version disappears
under a query. A subclass names the tables of its serving copy and implements `answer`
(plan, compile, run, read results) for one query."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from keyart.backends.base import ServingState
from keyart.backends.duckdb.engine import Cursor, DuckDBRunner
from keyart.backends.duckdb.serving_copy import CopiedTable, MergedTable, ServingCache, alias_of
from keyart.backends.duckdb.versions import CurrentVersion, VersionView
from keyart.errors import BackendUnavailable, KeyartError
from keyart.query import MetricQuery, QueryResult
from keyart.warehouse.layout import Warehouse

log = logging.getLogger(__name__)


class DuckDBBackend:
    """Base of the embedded and legacy backends; subclasses implement `answer`."""

    name = "duckdb"
    # tables of the serving copy: copied from the version, and merged from those
    tables: ClassVar[Mapping[str, CopiedTable]] = {}
    merged: ClassVar[Mapping[str, MergedTable]] = {}
    # DuckDB optimizers the backend's queries are better off without
    disabled_optimizers: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        warehouse: Path | str | Warehouse,
        *,
        threads: int | None = None,
        workers: int = 4,
        serving: bool = True,
        cache_dir: Path | str | None = None,
    ) -> None:
        self._current = CurrentVersion(warehouse)
        self._runner = DuckDBRunner(
            threads=threads,
            workers=workers,
            name=self.name,
            disabled_optimizers=self.disabled_optimizers,
        )
        folder = None
        if serving:
            folder = Path(cache_dir) if cache_dir is not None else self._default_cache_dir()
        self._cache = ServingCache(folder, self.tables, label=self.name, merged=self.merged)
        self._answering: str | None = None  # the version requests last asked for by name

    def _default_cache_dir(self) -> Path:
        return self._current.warehouse.root / "cache"

    @property
    def warehouse(self) -> Warehouse:
        """The warehouse this backend reads."""
        return self._current.warehouse

    def refresh(self) -> str:
        """Re-read the warehouse's CURRENT pointer now; returns the current version name."""
        return self._current.refresh().version.name

    def answer(
        self, cursor: Cursor, query: MetricQuery, view: VersionView, db: str | None
    ) -> QueryResult:
        """Answer a query in a worker thread, from serving database `db` when given (an
        attached alias), else from the version's Parquet files."""
        raise NotImplementedError

    async def _served(self, view: VersionView) -> str | None:
        """The attached serving database of a version, or None while it is not built."""
        path = self._cache.lookup(view.version)
        if path is None:
            return None
        alias = alias_of(view.version.name)
        try:
            await self._runner.attach(str(path), alias)
        except BackendUnavailable as exc:
            # an unreadable serving file must not take the backend down: use the Parquet
            log.warning("serving copy %s unusable, reading day files: %s", path, exc)
            self._cache.reject(view.version)
            return None
        return alias

    async def _run(self, query: MetricQuery, view: VersionView) -> QueryResult:
        db = await self._served(view)
        where = f"{self.name} query on {view.version.name}{' (serving copy)' if db else ''}"
        return await self._runner.run(lambda cursor: self.answer(cursor, query, view, db), where)

    async def execute(self, query: MetricQuery, version: str | None = None) -> QueryResult:
        """Answer one query from warehouse version `version` (the served snapshot's),
        never from another; from the current version when None."""
        if query.matches_nothing:
            return QueryResult(())
        if version is not None:
            self._answering = version
            return await self._run(query, self._current.named(version))
        view = self._current.get()
        try:
            result = await self._run(query, view)
        except BackendUnavailable:
            latest = self._current.refresh()
            if latest.version.name == view.version.name and view.version.root.is_dir():
                raise
            # the version moved on (and may be pruned) under the query: retry once
            result = await self._run(query, latest)
        return result.at_least(query.min_impressions)

    async def wait_until_served(self, timeout: float | None = None) -> bool:
        """Build the current version's serving copy if needed and wait for it (benchmarks
        and tests); True when queries are then answered from it."""
        view = self._current.get()
        if self._cache.lookup(view.version) is None:
            await asyncio.to_thread(self._cache.wait, timeout)
        return await self._served(view) is not None

    def serving_state(self) -> ServingState:
        """Where the serving copy of the version requests read stands (the last one asked
        for by name, else the current one; starts its build if missing); "building" too
        while there is no version to serve."""
        try:
            answering = self._answering
            view = self._current.named(answering) if answering else self._current.get()
        except KeyartError:
            return "building"
        return self._cache.state(view.version)

    async def ping(self) -> None:
        """Return when the warehouse has a current version and DuckDB answers."""
        view = self._current.get()
        if not view.version.root.is_dir():
            raise BackendUnavailable(f"warehouse version folder {view.version.root} is missing")
        await self._runner.run(lambda cursor: cursor.arrow("SELECT 1", ()), f"{self.name} ping")

    async def aclose(self) -> None:
        """Stop a serving-copy build and the worker threads, then close DuckDB."""
        self._cache.close()
        await asyncio.to_thread(self._runner.close)


__all__ = ["DuckDBBackend"]
