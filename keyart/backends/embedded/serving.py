"""Serving copies of warehouse tables: one DuckDB database file per version, built once in
the background, holding the day-partitioned Parquet tables as single tables sorted by
(title_id, asset_id, day).

Reading a version's day files costs a file open and footer parse per day and a scan of
every row of each day; the sorted copy lets DuckDB skip all blocks outside the queried
assets, which is what makes interactive latency possible. Until a version's copy is
ready (or when the cache folder is not writable) queries read the Parquet files.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
from filelock import FileLock, Timeout

from keyart.backends.base import ServingState
from keyart.backends.embedded.merge import group_sketches
from keyart.warehouse.layout import Version

log = logging.getLogger(__name__)

# a title's rows are contiguous, and within them each asset's rows, by day
SORT_KEY = "title_id, asset_id, day"
# bump when the layout of serving files changes, so that old files are not read
FORMAT = 3
_SUFFIX = ".duckdb"


def alias_of(version_name: str) -> str:
    """A safe SQL identifier naming a version's attached serving database."""
    return "srv_" + re.sub(r"[^0-9A-Za-z]", "_", version_name)


def sql_string(text: str) -> str:
    """A single-quoted SQL string literal (for our own file paths, never user values)."""
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True, slots=True)
class CopiedTable:
    """A day-partitioned warehouse table copied into the serving file, sorted."""

    relative: str  # folder of day partitions, relative to the version root
    schema: pa.Schema  # used when the version holds no file of it (an empty table)


@dataclass(frozen=True, slots=True)
class MergedTable:
    """A table derived in the serving file from a copied one by merging its rows over the
    columns left out of `keys` (summing counts, uniting sketches)."""

    base: str
    keys: tuple[str, ...]
    counts: tuple[str, ...] = ("impressions", "qualified_plays", "play_seconds", "engaged_plays")
    sketches: tuple[str, ...] = ("imp_sketch", "play_sketch")


MERGE_DAYS = 14  # days merged per batch: bounds the memory a build needs


def build_serving_file(
    version: Version,
    tables: Mapping[str, CopiedTable],
    path: Path,
    *,
    merged: Mapping[str, MergedTable] | None = None,
    threads: int = 1,
    memory_limit: str = "2GB",
    stop: threading.Event | None = None,
    on_connect: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> Path | None:
    """Write the serving copy of one version to `path` atomically: every table of `tables`
    sorted, then every `merged` table; None when the version has no file of any table or
    `stop` was set."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    con = duckdb.connect(str(tmp), config={"threads": threads, "memory_limit": memory_limit})
    if on_connect is not None:
        on_connect(con)
    copied = 0

    def stopped() -> bool:
        return stop is not None and stop.is_set()

    try:
        con.execute(f"SET temp_directory = {sql_string(str(path.parent / '.spill'))}")
        for name, table in tables.items():
            if stopped():
                break
            files = sorted(str(p) for p in (version.root / table.relative).glob("day=*/*.parquet"))
            if files:
                source, params = "read_parquet(?, hive_partitioning = false)", [files]
                copied += 1
            else:
                con.register("_empty", table.schema.empty_table())
                source, params = "_empty", []
            con.execute(
                f"CREATE TABLE {name} AS SELECT * FROM {source} ORDER BY {SORT_KEY}", params
            )
            if not files:
                con.unregister("_empty")
        for name, spec in (merged or {}).items():
            if stopped():
                break
            _merge_table(con, name, spec, version.lg_k, stopped)
        con.execute("CHECKPOINT")
    except BaseException:
        con.close()
        _remove(tmp)
        raise
    con.close()
    if copied == 0 or stopped():
        _remove(tmp)
        return None
    os.replace(tmp, path)
    return path


def _merge_table(
    con: duckdb.DuckDBPyConnection,
    name: str,
    spec: MergedTable,
    lg_k: int,
    stopped: Callable[[], bool],
) -> None:
    """Create `name` from `spec.base`, a few days at a time, then sort it."""
    keys = ", ".join(spec.keys)
    select = [
        keys,
        *(f"CAST(SUM({c}) AS BIGINT) AS {c}" for c in spec.counts),
        *(f"list({c}) FILTER (WHERE {c} IS NOT NULL) AS {c}" for c in spec.sketches),
    ]
    columns = [keys, *spec.counts, *spec.sketches]
    staging = f"_staging_{name}"
    con.execute(f"CREATE TABLE {staging} AS SELECT {', '.join(columns)} FROM {spec.base} LIMIT 0")
    days = [
        row[0] for row in con.execute(f"SELECT DISTINCT day FROM {spec.base} ORDER BY 1").fetchall()
    ]
    for at in range(0, len(days), MERGE_DAYS):
        if stopped():
            return
        window = days[at : at + MERGE_DAYS]
        batch = con.sql(
            f"SELECT {', '.join(select)} FROM {spec.base} WHERE day BETWEEN ? AND ? GROUP BY ALL",
            params=[window[0], window[-1]],
        ).to_arrow_table()
        for column in spec.sketches:
            merged = pa.array(group_sketches(batch.column(column), lg_k), pa.binary())
            batch = batch.set_column(batch.schema.get_field_index(column), column, merged)
        con.register("_batch", batch)
        con.execute(f"INSERT INTO {staging} SELECT * FROM _batch")
        con.unregister("_batch")
    con.execute(f"CREATE TABLE {name} AS SELECT * FROM {staging} ORDER BY {SORT_KEY}")
    con.execute(f"DROP TABLE {staging}")


STALE_TEMP_S = 6 * 3600  # a temporary older than this was left by a build killed midway


def _remove_partials(path: Path) -> None:
    """Delete the temporaries of earlier builds of `path`; called holding its lock, so they
    belong to builds that died (a live build keeps the lock)."""
    for leftover in path.parent.glob(f".{path.name}.*.tmp*"):
        with contextlib.suppress(OSError):
            leftover.unlink()


def _remove(database: Path) -> None:
    database.unlink(missing_ok=True)
    database.with_name(database.name + ".wal").unlink(missing_ok=True)


class ServingCache:
    """Finds or builds (in one background thread) the serving file of each version."""

    def __init__(
        self,
        folder: Path | None,
        tables: Mapping[str, CopiedTable],
        *,
        label: str,
        merged: Mapping[str, MergedTable] | None = None,
        build: bool = True,
        memory_limit: str = "2GB",
    ) -> None:
        self.folder = folder
        self.tables = dict(tables)
        self.merged = dict(merged or {})
        # backends share a folder, each with its own files
        self.suffix = f".{label}.f{FORMAT}{_SUFFIX}"
        self.build = build and folder is not None
        self.memory_limit = memory_limit
        self._lock = threading.Lock()
        self._building: threading.Thread | None = None
        self._failed: set[str] = set()
        self._stop = threading.Event()
        self._builder: duckdb.DuckDBPyConnection | None = None

    def path_for(self, version: Version) -> Path | None:
        """Where the serving file of a version lives (None when caching is off)."""
        return None if self.folder is None else self.folder / f"{version.name}{self.suffix}"

    def lookup(self, version: Version) -> Path | None:
        """The version's serving file when it is ready; otherwise start building it (once)
        and return None so that the caller reads the Parquet files meanwhile."""
        path = self.path_for(version)
        if path is None or version.name in self._failed:
            return None
        if path.exists():
            return path
        if self.build:
            self._start(version, path)
        return None

    def state(self, version: Version) -> ServingState:
        """Where the version's serving file stands; starts building it when it is missing."""
        if self.folder is None:
            return "off"
        if self.lookup(version) is not None:
            return "ready"
        if version.name in self._failed:
            return "failed"
        return "building" if self.build else "off"

    def reject(self, version: Version) -> None:
        """Stop offering a version's serving file (it could not be opened)."""
        with self._lock:
            self._failed.add(version.name)

    def _start(self, version: Version, path: Path) -> None:
        with self._lock:
            if self._stop.is_set() or version.name in self._failed:
                return
            if self._building is not None and self._building.is_alive():
                return
            self._building = threading.Thread(
                target=self._build, args=(version, path), name="keyart-serving-build", daemon=True
            )
            self._building.start()

    def _build(self, version: Version, path: Path) -> None:
        # an OS lock (flock): released by the kernel when its holder dies, so a build
        # killed midway never blocks the next one
        lock = FileLock(path.with_name(f".{path.name}.lock"), thread_local=False)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock.acquire(timeout=0)
        except Timeout:
            # another live process builds this file; lookups find it once it is renamed
            log.info("serving copy of %s is being built by another process", version.name)
            return
        except OSError as exc:
            log.warning("serving copy of %s not built: %s", version.name, exc)
            with self._lock:
                self._failed.add(version.name)
            return
        try:
            if not path.exists():  # not finished by another process meanwhile
                _remove_partials(path)
                self._build_locked(version, path)
        finally:
            lock.release()

    def _build_locked(self, version: Version, path: Path) -> None:
        try:
            built = build_serving_file(
                version,
                self.tables,
                path,
                merged=self.merged,
                memory_limit=self.memory_limit,
                stop=self._stop,
                on_connect=self._set_builder,
            )
        except (OSError, duckdb.Error) as exc:
            # an unwritable cache folder or a bad file: keep serving from Parquet
            log.warning("serving copy of %s not built: %s", version.name, exc)
            with self._lock:
                self._failed.add(version.name)
            return
        if built is not None:
            log.info("serving copy of %s ready at %s", version.name, built)
            self._remove_stale(version)

    def _set_builder(self, con: duckdb.DuckDBPyConnection) -> None:
        with self._lock:
            self._builder = con

    def _remove_stale(self, keep: Version) -> None:
        """Delete serving files of versions that no longer exist, and old temporaries."""
        if self.folder is None:
            return
        versions = keep.root.parent
        now = time.time()
        for leftover in self.folder.glob(".*.tmp*"):  # from builds killed midway
            with contextlib.suppress(OSError):
                if now - leftover.stat().st_mtime > STALE_TEMP_S:
                    leftover.unlink()
        for path in self.folder.glob(f"*{self.suffix}"):
            name = path.name[: -len(self.suffix)]
            if name != keep.name and not (versions / name).exists():
                path.unlink(missing_ok=True)
                path.with_name(f".{path.name}.lock").unlink(missing_ok=True)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a running build ends (for tests and benchmarks); True if none runs."""
        thread = self._building
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def close(self) -> None:
        """Stop a running build (its partial file is removed) and wait for its thread."""
        self._stop.set()
        with self._lock:
            builder = self._builder
        if builder is not None:
            with contextlib.suppress(duckdb.Error):  # already closed
                builder.interrupt()
        # a daemon thread still inside DuckDB when the interpreter exits aborts the process
        self.wait(timeout=30)


__all__ = [
    "FORMAT",
    "SORT_KEY",
    "CopiedTable",
    "MergedTable",
    "ServingCache",
    "alias_of",
    "build_serving_file",
    "sql_string",
]
