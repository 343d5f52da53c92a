"""Serving copies of warehouse tables: one DuckDB database file per version, built once in
the background, holding the day-partitioned Parquet tables as single tables sorted by
(title_id, asset_id, day).

Reading a version's day files costs a file open and footer parse per day and a scan of
every row of each day; the sorted copy lets DuckDB skip all blocks outside the queried
assets, which is what makes interactive latency possible. Until a version's copy is
ready (or when the cache folder is not writable) queries read the Parquet files. A new
version's copy is built from the previous version's where most day partitions carried
over unchanged (see build_serving_file).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from filelock import FileLock, Timeout

from keyart.backends.base import ServingState
from keyart.backends.duckdb.sql import safe_identifier, sql_identifier, sql_string
from keyart.warehouse.layout import Version
from keyart.warehouse.serving_layout import published_layout
from keyart.warehouse.tables import COUNT_MEASURES, SKETCH_MEASURES

log = logging.getLogger(__name__)

# the union of each row's sketches in a list<binary> column at lgK (None: no sketch)
UniteSketches = Callable[[pa.ChunkedArray, int], list[bytes | None]]

# a title's rows are contiguous, and within them each asset's rows, by day
SORT_KEY = "title_id, asset_id, day"
# bump when the layout of serving files changes, so that old files are not read
FORMAT = 3
_SUFFIX = ".duckdb"


def alias_of(version_name: str) -> str:
    """A safe SQL identifier naming a version's attached serving database."""
    return safe_identifier(version_name, "srv_")


@dataclass(frozen=True, slots=True)
class CopiedTable:
    """A day-partitioned warehouse table copied into the serving file, sorted."""

    relative: str  # folder of day partitions, relative to the version root
    schema: pa.Schema  # used when the version holds no file of it (an empty table)


@dataclass(frozen=True, slots=True)
class MergedTable:
    """A table derived in the serving file from a copied one by merging its rows over the
    columns left out of `keys`: summing counts, uniting sketches with `unite` (one sketch
    per row of a list<binary> column, at a given lgK; the backend's sketch library)."""

    base: str
    keys: tuple[str, ...]
    unite: UniteSketches
    counts: tuple[str, ...] = COUNT_MEASURES
    sketches: tuple[str, ...] = SKETCH_MEASURES

    def select(self, source: str, where: str = "") -> str:
        """SQL merging the rows of `source` over the columns left out of `keys`: counts
        summed, each sketch column's sketches gathered into a list (see `united`)."""
        columns = [
            ", ".join(self.keys),
            *(f"CAST(SUM({c}) AS BIGINT) AS {c}" for c in self.counts),
            *(f"list({c}) FILTER (WHERE {c} IS NOT NULL) AS {c}" for c in self.sketches),
        ]
        return f"SELECT {', '.join(columns)} FROM {source}{where} GROUP BY ALL"

    def united(self, batch: pa.Table, lg_k: int) -> pa.Table:
        """`batch` of `select` with each list of sketches united into one sketch."""
        for column in self.sketches:
            merged = pa.array(self.unite(batch.column(column), lg_k), pa.binary())
            batch = batch.set_column(batch.schema.get_field_index(column), column, merged)
        return batch


MERGE_DAYS = 14  # days merged per batch: bounds the memory a build needs
# An incremental build appends the changed days' rows after the sorted ones; these bound how
# far that may go before a full build restores one sort order over every row.
MAX_INCREMENTS = 7  # incremental builds in a row
MIN_REUSED = 0.5  # share of (table, day) partitions that must be carried over as they are
# How serving tables store their sketch columns. A query reads a few hundred sketches
# scattered over a title's rows, and DuckDB's string compression (dictionary + FSST) decodes
# whole vectors to hand those out: on bench that was most of a title page's query time
# (4.6 -> 2.6 ms uncompressed, for ~30 % more file; docs/performance.md). Recorded in each
# file's info table: a file written with other storage is still read, but never extended.
SKETCH_STORAGE = "uncompressed"
DAYS_TABLE = "_serving_days"  # the (table, day, fingerprint) partitions a file holds
INFO_TABLE = "_serving_info"  # the version a file serves, its base, increments, storage


@dataclass(frozen=True, slots=True)
class DayFiles:
    """One day partition of a table: its files and a fingerprint of them (names, sizes,
    modification times), which a day carried over by hard link or copy keeps."""

    files: tuple[str, ...]
    fingerprint: str


def day_files(version: Version, table: CopiedTable) -> dict[date, DayFiles]:
    """Every day partition of a table in a version."""
    out: dict[date, DayFiles] = {}
    for folder in sorted((version.root / table.relative).glob("day=*")):
        files = sorted(folder.glob("*.parquet"))
        if not files:
            continue
        stats = [(f.name, st.st_size, st.st_mtime_ns) for f in files for st in [f.stat()]]
        out[date.fromisoformat(folder.name.removeprefix("day="))] = DayFiles(
            tuple(str(f) for f in files), json.dumps(stats)
        )
    return out


@dataclass(frozen=True, slots=True)
class ServingBuild:
    """What one build wrote: the file, and how many day partitions it carried over from
    the serving file of an earlier version (0 for a full build)."""

    path: Path
    base: str | None
    reused: int
    rebuilt: int


def build_serving_file(
    version: Version,
    tables: Mapping[str, CopiedTable],
    path: Path,
    *,
    merged: Mapping[str, MergedTable] | None = None,
    base: Path | None = None,
    threads: int = 1,
    memory_limit: str = "2GB",
    stop: threading.Event | None = None,
    on_connect: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> ServingBuild | None:
    """Write the serving copy of one version to `path` atomically: every table of `tables`
    sorted, then every `merged` table; None when the version has no file of any table or
    `stop` was set.

    With `base` (the serving file of an earlier version) the build starts from a copy of it
    and replaces only the day partitions whose files differ — a daily ingest rewrites one
    or two days and hard-links the rest — unless too little would be carried over or
    too many incremental builds came before (then it builds in full)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    job = _Job(
        version=version,
        tables=tables,
        merged=merged or {},
        parts={name: day_files(version, table) for name, table in tables.items()},
        tmp=path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp"),
        config={"threads": threads, "memory_limit": memory_limit},
        stop=stop,
        on_connect=on_connect,
    )
    build: ServingBuild | None = None
    try:
        if base is not None:
            try:
                shutil.copyfile(base, job.tmp)
                build = _build_incremental(job)
            except (OSError, duckdb.Error) as exc:
                # a base removed or unreadable meanwhile: the full build does not need it
                log.info("serving copy of %s not built from %s: %s", version.name, base, exc)
            if build is None:
                _remove(job.tmp)
        if build is None and not job.stopped():
            build = _build_full(job)
    except BaseException:
        _remove(job.tmp)
        raise
    if build is None or job.stopped() or not any(job.parts.values()):
        _remove(job.tmp)
        return None
    os.replace(job.tmp, path)
    return ServingBuild(path, build.base, build.reused, build.rebuilt)


@dataclass(frozen=True, slots=True)
class _Job:
    """One serving-file build: what goes in, where it is written, how DuckDB runs."""

    version: Version
    tables: Mapping[str, CopiedTable]
    merged: Mapping[str, MergedTable]
    parts: Mapping[str, Mapping[date, DayFiles]]
    tmp: Path
    config: Mapping[str, Any]
    stop: threading.Event | None
    on_connect: Callable[[duckdb.DuckDBPyConnection], None] | None

    def stopped(self) -> bool:
        """True once the build was asked to stop."""
        return self.stop is not None and self.stop.is_set()

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A connection to the file being written."""
        con = duckdb.connect(str(self.tmp), config=dict(self.config))
        if self.on_connect is not None:
            self.on_connect(con)
        con.execute(f"SET temp_directory = {sql_string(str(self.tmp.parent / '.spill'))}")
        return con

    def partitions(self) -> dict[tuple[str, date], str]:
        """The fingerprint of every (table, day) partition of the version."""
        return {(t, d): p.fingerprint for t, days in self.parts.items() for d, p in days.items()}


def create_table(
    con: duckdb.DuckDBPyConnection, name: str, query: str, params: Sequence[Any] = ()
) -> None:
    """`CREATE TABLE name AS query`, rows in the query's order, with the sketch columns
    stored as SKETCH_STORAGE says."""
    columns = con.execute(f"DESCRIBE {query}", list(params)).fetchall()
    definitions = ", ".join(
        f"{sql_identifier(column)} {kind}"
        + (f" USING COMPRESSION {SKETCH_STORAGE}" if column in SKETCH_MEASURES else "")
        for column, kind, *_ in columns
    )
    con.execute(f"CREATE TABLE {name} ({definitions})")
    con.execute(f"INSERT INTO {name} {query}", list(params))


def _build_full(job: _Job) -> ServingBuild | None:
    """Every table sorted, then every merged table, into a new file."""
    con = job.connect()
    try:
        for name, table in job.tables.items():
            if job.stopped():
                return None
            files = [f for day in job.parts[name].values() for f in day.files]
            if files:
                source, params = "read_parquet(?, hive_partitioning = false)", [files]
            else:
                con.register("_empty", table.schema.empty_table())
                source, params = "_empty", []
            create_table(con, name, f"SELECT * FROM {source} ORDER BY {SORT_KEY}", params)
            if not files:
                con.unregister("_empty")
        for name, spec in job.merged.items():
            if job.stopped():
                return None
            _merge_table(con, name, spec, job.version.lg_k, job.stopped)
        _write_info(con, job, base=None, increments=0)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return ServingBuild(job.tmp, None, 0, len(job.partitions()))


def _build_incremental(job: _Job) -> ServingBuild | None:
    """Bring the copy of an earlier version's serving file at `job.tmp` up to the version;
    None when a full build is the better choice."""
    con = job.connect()
    try:
        try:
            info = dict(con.execute(f"SELECT key, value FROM {INFO_TABLE}").fetchall())
            held = {
                (t, d): fp
                for t, d, fp in con.execute(
                    f"SELECT tbl, day, fingerprint FROM {DAYS_TABLE}"
                ).fetchall()
            }
        except duckdb.Error:
            return None  # not a file this code wrote: build in full
        if info.get("storage") != SKETCH_STORAGE:
            return None  # its tables keep the storage they were created with
        increments = int(info.get("increments", MAX_INCREMENTS))
        wanted = job.partitions()
        reused = {k for k, fp in wanted.items() if held.get(k) == fp}
        if increments >= MAX_INCREMENTS or len(reused) < MIN_REUSED * len(wanted):
            return None
        changed: dict[str, list[date]] = {}
        for name in job.tables:
            gone = sorted(d for t, d in held if t == name and (t, d) not in reused)
            new = sorted(d for d in job.parts[name] if (name, d) not in reused)
            changed[name] = sorted(set(gone) | set(new))
            if job.stopped():
                return None
            if gone:
                con.execute(f"DELETE FROM {name} WHERE list_contains(?, day)", [gone])
            if new:
                files = [f for d in new for f in job.parts[name][d].files]
                con.execute(
                    f"INSERT INTO {name} SELECT * FROM read_parquet(?, hive_partitioning = false)"
                    f" ORDER BY {SORT_KEY}",
                    [files],
                )
        for name, spec in job.merged.items():
            days = changed.get(spec.base, [])
            if job.stopped():
                return None
            if days:
                con.execute(f"DELETE FROM {name} WHERE list_contains(?, day)", [days])
                _merge_days(con, name, spec, job.version.lg_k, days, job.stopped)
        _write_info(con, job, base=info.get("version"), increments=increments + 1)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return ServingBuild(job.tmp, info.get("version"), len(reused), len(wanted) - len(reused))


def _write_info(
    con: duckdb.DuckDBPyConnection, job: _Job, *, base: str | None, increments: int
) -> None:
    """Record which partitions the file holds, so that a later build can reuse them."""
    con.execute(
        f"CREATE OR REPLACE TABLE {DAYS_TABLE} (tbl VARCHAR, day DATE, fingerprint VARCHAR)"
    )
    rows = [(t, d, fp) for (t, d), fp in job.partitions().items()]
    if rows:
        con.executemany(f"INSERT INTO {DAYS_TABLE} VALUES (?, ?, ?)", rows)
    con.execute(f"CREATE OR REPLACE TABLE {INFO_TABLE} (key VARCHAR, value VARCHAR)")
    con.executemany(
        f"INSERT INTO {INFO_TABLE} VALUES (?, ?)",
        [
            ("version", job.version.name),
            ("base", base or ""),
            ("increments", str(increments)),
            ("storage", SKETCH_STORAGE),
        ],
    )


def _merge_table(
    con: duckdb.DuckDBPyConnection,
    name: str,
    spec: MergedTable,
    lg_k: int,
    stopped: Callable[[], bool],
) -> None:
    """Create `name` from `spec.base`, a few days at a time, then sort it."""
    columns = [", ".join(spec.keys), *spec.counts, *spec.sketches]
    staging = f"_staging_{name}"
    con.execute(f"CREATE TABLE {staging} AS SELECT {', '.join(columns)} FROM {spec.base} LIMIT 0")
    days = [
        row[0] for row in con.execute(f"SELECT DISTINCT day FROM {spec.base} ORDER BY 1").fetchall()
    ]
    _merge_days(con, staging, spec, lg_k, days, stopped)
    if stopped():
        return
    create_table(con, name, f"SELECT * FROM {staging} ORDER BY {SORT_KEY}")
    con.execute(f"DROP TABLE {staging}")


def _merge_days(
    con: duckdb.DuckDBPyConnection,
    target: str,
    spec: MergedTable,
    lg_k: int,
    days: list[date],
    stopped: Callable[[], bool],
) -> None:
    """Insert into `target` the rows of `spec.base` on `days` merged over the columns left
    out of `spec.keys`, a few days at a time."""
    select = spec.select(spec.base, " WHERE list_contains(?, day)")
    for at in range(0, len(days), MERGE_DAYS):
        if stopped():
            return
        window = days[at : at + MERGE_DAYS]
        batch = spec.united(con.sql(select, params=[window]).to_arrow_table(), lg_k)
        con.register("_batch", batch)
        con.execute(f"INSERT INTO {target} SELECT * FROM _batch")
        con.unregister("_batch")


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
        self.label = label
        self.build = build and folder is not None
        self.memory_limit = memory_limit
        self._lock = threading.Lock()
        self._building: threading.Thread | None = None
        self._failed: set[str] = set()
        # a version's ready file, remembered: every query asks, and the files of a
        # published version never change (two file-system lookups per query otherwise)
        self._ready: dict[tuple[Path, str], Path] = {}
        self._stop = threading.Event()
        self._builder: duckdb.DuckDBPyConnection | None = None

    def path_for(self, version: Version) -> Path | None:
        """Where the serving file of a version lives (None when caching is off)."""
        return None if self.folder is None else self.folder / f"{version.name}{self.suffix}"

    def lookup(self, version: Version) -> Path | None:
        """The version's serving file when it is ready; otherwise start building it (once)
        and return None so that the caller reads the Parquet files meanwhile. The serving
        layout the ETL published with the version, when it has one, is ready at once."""
        path = self.path_for(version)
        if path is None or version.name in self._failed:
            return None
        key = (version.root, version.name)
        ready = self._ready.get(key)
        if ready is not None:
            return ready
        published = published_layout(version, self.label)
        if published is not None:
            self._ready[key] = published
            return published
        if path.exists():
            self._ready[key] = path
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
        started = time.monotonic()
        try:
            built = build_serving_file(
                version,
                self.tables,
                path,
                merged=self.merged,
                base=self._latest_other(path),
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
            how = (
                f"from {built.base}'s, {built.reused} day partitions carried over"
                if built.base
                else "in full"
            )
            log.info(
                "serving copy of %s ready at %s: built %s, %d rebuilt, in %.1f s",
                version.name,
                built.path,
                how,
                built.rebuilt,
                time.monotonic() - started,
            )
            self._remove_stale(version)

    def _latest_other(self, path: Path) -> Path | None:
        """The newest serving file of another version: the base of an incremental build."""
        if self.folder is None:
            return None
        others = [p for p in self.folder.glob(f"*{self.suffix}") if p != path]
        with contextlib.suppress(OSError):
            return max(others, key=lambda p: p.stat().st_mtime, default=None)
        return None

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
    "SKETCH_STORAGE",
    "SORT_KEY",
    "CopiedTable",
    "DayFiles",
    "MergedTable",
    "ServingBuild",
    "ServingCache",
    "UniteSketches",
    "alias_of",
    "build_serving_file",
    "create_table",
    "day_files",
]
