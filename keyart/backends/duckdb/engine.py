"""A DuckDB database queried from a small pool of worker threads, one cursor per thread.

DuckDB is synchronous; the event loop hands each query to a worker and awaits it. A
cancelled await interrupts the running statement, and DuckDB errors become keyart errors.
"""

from __future__ import annotations

import asyncio
import threading
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from keyart.backends.duckdb.results import Rows
from keyart.backends.duckdb.sql import sql_string
from keyart.errors import BackendUnavailable, KeyartError, QueryRejected

T = TypeVar("T")

_ARROW_COPY_WARNING = "Arrow output on a DB-API result makes an extra copy"

# errors that say the compiled SQL (hence the IR it came from) is wrong; anything else
# (unreadable or corrupt files, memory, interrupts) means the backend cannot answer now
_QUERY_ERRORS: tuple[type[Exception], ...] = (
    duckdb.ParserException,
    duckdb.BinderException,
    duckdb.ConversionException,
    duckdb.NotImplementedException,
    duckdb.TypeMismatchException,
    duckdb.OutOfRangeException,
)


def map_error(exc: duckdb.Error, what: str) -> KeyartError:
    """The keyart error for a DuckDB error raised while running `what`."""
    if isinstance(exc, duckdb.InterruptException):
        return BackendUnavailable(f"{what} was interrupted")
    if isinstance(exc, _QUERY_ERRORS):
        return QueryRejected(f"{what} was rejected by DuckDB: {exc}")
    return BackendUnavailable(f"{what} failed in DuckDB: {exc}")


class Cursor:
    """The per-thread DuckDB cursor a worker runs statements on."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def arrow(self, sql: str, params: Sequence[Any]) -> pa.Table:
        """Run one statement with bound parameters and fetch the result as an Arrow table."""
        # execute() binds once; sql() binds to describe a lazy relation, then again to run
        return self._con.execute(sql, list(params)).to_arrow_table()

    def rows(self, sql: str, params: Sequence[Any]) -> Rows:
        """Run one statement with bound parameters and fetch its rows as Python tuples
        (cheaper than Arrow for a few rows; see embedded.plan.few_rows)."""
        result = self._con.execute(sql, list(params))
        rows = result.fetchall()
        return Rows(tuple(d[0] for d in result.description or ()), rows)

    def execute(self, sql: str) -> None:
        """Run one statement of our own (no parameters, no result)."""
        self._con.execute(sql)

    def interrupt(self) -> None:
        """Stop the statement running on this cursor (called from another thread)."""
        self._con.interrupt()


class DuckDBRunner:
    """An in-memory DuckDB database and the worker threads that query it; DuckDB
    optimizers named in `disabled_optimizers` are off for every statement it runs."""

    def __init__(
        self,
        *,
        threads: int | None = None,
        workers: int = 4,
        name: str,
        disabled_optimizers: Sequence[str] = (),
    ) -> None:
        config: dict[str, Any] = {}
        if threads is not None:
            if threads < 1:
                raise ValueError(f"threads must be >= 1, got {threads}")
            config["threads"] = threads
        self.name = name
        # results are small (one row per group), so DuckDB's extra copy for DB-API Arrow
        # output is cheaper than the second bind of the relation API it recommends
        warnings.filterwarnings("ignore", message=_ARROW_COPY_WARNING, category=UserWarning)
        self._con = duckdb.connect(":memory:", config=config)
        # footers of the warehouse files are immutable: parse each once per process
        self._con.execute("SET parquet_metadata_cache = true")
        if disabled_optimizers:
            names = ", ".join(disabled_optimizers)
            self._con.execute(f"SET disabled_optimizers = {sql_string(names)}")
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"keyart-{name}")
        self._closed = False
        self._attached: list[str] = []

    def _cursor(self) -> Cursor:
        cursor: Cursor | None = getattr(self._local, "cursor", None)
        if cursor is None:
            with self._lock:
                if self._closed:
                    raise BackendUnavailable(f"the {self.name} backend is closed")
                con = self._con.cursor()
                self._cursors.append(con)
            cursor = Cursor(con)
            self._local.cursor = cursor
        return cursor

    async def run(self, fn: Callable[[Cursor], T], what: str) -> T:
        """Run `fn` with a worker thread's cursor; interrupt it if the caller is cancelled."""
        if self._closed:
            raise BackendUnavailable(f"the {self.name} backend is closed")
        used: list[Cursor] = []

        def work() -> T:
            cursor = self._cursor()
            used.append(cursor)
            try:
                return fn(cursor)
            except duckdb.Error as exc:
                raise map_error(exc, what) from exc

        future = asyncio.get_running_loop().run_in_executor(self._pool, work)
        try:
            return await future
        except asyncio.CancelledError:
            if used:
                used[0].interrupt()
            raise

    async def attach(self, path: str, alias: str, keep: int = 2) -> None:
        """Attach a database file read-only under `alias` (once); detach all but the `keep`
        most recently attached ones."""
        if alias in self._attached:
            return

        def work(cursor: Cursor) -> None:
            with self._lock:
                if alias in self._attached:
                    return
                cursor.execute(f"ATTACH IF NOT EXISTS {sql_string(path)} AS {alias} (READ_ONLY)")
                self._attached.append(alias)
                while len(self._attached) > keep:
                    cursor.execute(f"DETACH DATABASE IF EXISTS {self._attached.pop(0)}")

        await self.run(work, f"attaching {path}")

    def close(self) -> None:
        """Stop the workers and close every cursor and the database."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        for con in self._cursors:
            con.close()
        self._con.close()


__all__ = ["Cursor", "DuckDBRunner", "map_error"]
