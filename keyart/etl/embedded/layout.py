"""Writes the serving layout of a version during its ingest (see keyart.warehouse.serving_layout
for what the layout is and why): one background thread appends each day as the ingest builds
it, while the ingest goes on with the next day."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import threading
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from keyart.backends.duckdb.serving_copy import (
    SKETCH_STORAGE,
    CopiedTable,
    MergedTable,
    create_table,
    day_files,
)
from keyart.backends.duckdb.sql import sql_string
from keyart.backends.embedded.backend import EmbeddedBackend
from keyart.etl.embedded.rollups import Coding, DayFacts, RollupBuilder
from keyart.sketches.packed import PackedSketcher
from keyart.warehouse.layout import Staging, Version
from keyart.warehouse.serving_layout import (
    BLOCK_KEY,
    BLOCK_ROWS,
    INFO_TABLE,
    LAYOUT_FORMAT,
    ROW_GROUP_ROWS,
    layout_path,
    published_layout,
)

log = logging.getLogger(__name__)

PENDING_DAYS = 4  # days queued for the writer thread at most: bounds memory
# A run's new days go into at least this many blocks once a block holds MIN_BLOCK_ROWS,
# so that only the last one is written after the days (a small run is one block)
MIN_BLOCKS = 4
MIN_BLOCK_ROWS = 500_000
MEMORY_LIMIT = "2GB"  # of the writer's DuckDB (it spills beyond)
BLOCK_ORDER = ", ".join(BLOCK_KEY)


class LayoutWriter:
    """Writes one version's serving layout on a background thread while the ingest builds
    its days: start with `open`, hand over each built day with `add`, then `finish` before
    the version is committed (or `abort`)."""

    def __init__(
        self,
        staging: Staging,
        label: str,
        tables: Mapping[str, CopiedTable],
        merged: Mapping[str, MergedTable],
        lg_k: int,
        *,
        enabled: bool = True,
    ) -> None:
        self.enabled = enabled
        self.staging = staging
        self.tables = dict(tables)
        self.merged = dict(merged)
        self.lg_k = lg_k
        self.path = layout_path(staging.root, label)
        self.label = label
        self.tmp = self.path.with_name(f".{self.path.name}.tmp")
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="keyart-layout")
        # DuckDB inserts of full blocks, beside the gathering of the next block
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="keyart-layout-insert")
        self._writing: Future[None] | None = None
        self._pending: deque[Future[None]] = deque()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()
        self.days_written = 0
        self.days_carried = 0
        self.seeded_from: str | None = None  # "parent layout", "parent day files" or None
        self._finished = False
        self._buffer: dict[str, list[pa.Table]] = {}  # the block being gathered, per table
        # per table, each buffered day's sort keys (None: a day without, sorted by DuckDB)
        self._keys: dict[str, list[npt.NDArray[np.int64] | None]] = {}
        self._ranks: _Ranks | None = None
        self._buffered = 0  # rows of the rollups in it
        self._buffered_days = 0  # new days in it
        self._block_days = 1  # new days that may close a block of MIN_BLOCK_ROWS
        self.blocks = 0
        self._builder: RollupBuilder | None = None

    # -- the caller's side -----------------------------------------------------------

    def __enter__(self) -> LayoutWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._finished:
            self.abort()

    def open(
        self,
        parent: Version | None,
        rebuilt: list[date],
        kept: list[date],
        coding: Coding | None = None,
        *,
        list_mode: bool = True,
    ) -> None:
        """Start the layout (on the writer thread): a copy of the parent's layout without
        the `rebuilt` days, or the `kept` days of the parent's day files. With the run's
        `coding`, days handed over with their facts get their rollups merged over
        countries built from the facts (see _append)."""
        if not self.enabled:
            return
        if coding is not None:
            self._builder = RollupBuilder(coding, self.lg_k, list_mode=list_mode)
            # merged cells are large: their sketches from coupons, not member by member
            self._builder.sketcher = PackedSketcher(self.lg_k)
            self._ranks = _Ranks(coding)
        self._block_days = max(1, -(-len(rebuilt) // MIN_BLOCKS))
        self._submit(self._seed, parent, rebuilt, kept)

    def add(self, day: date, tables: Mapping[str, pa.Table], facts: DayFacts | None = None) -> None:
        """Append one built day (its table of every name in `tables`; others are ignored),
        with the day's coded facts when there are."""
        if not self.enabled:
            return
        wanted = {name: t for name, t in tables.items() if name in self.tables}
        self._submit(self._append, day, wanted, facts)

    def finish(self, run_id: str) -> Path | None:
        """Wait for every day, seal the file and move it into place (in the staging
        folder, published by its commit); the layout's path (None when not enabled)."""
        if not self.enabled:
            self._finished = True
            self._pool.shutdown()
            self._writer.shutdown()
            return None
        self._submit(self._seal, run_id)
        try:
            self._drain()
        finally:
            self._pool.shutdown(wait=True)
            self._writer.shutdown(wait=True)
        os.replace(self.tmp, self.path)
        shutil.rmtree(self.path.parent / ".spill", ignore_errors=True)
        self.staging.record_checksum(self.path)
        self._finished = True
        return self.path

    def abort(self) -> None:
        """Stop writing and remove the partial file (the staging folder goes anyway)."""
        with self._lock:
            con = self._con
        if con is not None:
            with contextlib.suppress(duckdb.Error):  # already closed
                con.interrupt()
        for job in self._pending:
            job.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._writer.shutdown(wait=True, cancel_futures=True)
        self._close()
        self.tmp.unlink(missing_ok=True)
        self.tmp.with_name(self.tmp.name + ".wal").unlink(missing_ok=True)

    def summary(self) -> dict[str, Any]:
        """What was written, for the run's report."""
        return {
            "written": self.enabled,
            "seeded_from": self.seeded_from,
            "days_written": self.days_written,
            "days_carried": self.days_carried,
            "blocks": self.blocks,
            "bytes": self.path.stat().st_size if self.path.exists() else None,
        }

    def _submit(self, fn: Callable[..., None], *args: Any) -> None:
        self._pending.append(self._pool.submit(fn, *args))
        while len(self._pending) > PENDING_DAYS:
            self._pending.popleft().result()

    def _drain(self) -> None:
        while self._pending:
            self._pending.popleft().result()

    # -- the writer thread -------------------------------------------------------------

    def _connect(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(config={"threads": 1, "memory_limit": MEMORY_LIMIT})
        con.execute(f"SET temp_directory = {sql_string(self.tmp.parent / '.spill')}")
        con.execute(f"ATTACH {sql_string(self.tmp)} AS layout (ROW_GROUP_SIZE {ROW_GROUP_ROWS})")
        con.execute("USE layout")
        with self._lock:
            self._con = con
        return con

    def _close(self) -> None:
        with self._lock:
            con, self._con = self._con, None
        if con is not None:
            con.close()

    def _seed(self, parent: Version | None, rebuilt: list[date], kept: list[date]) -> None:
        self.tmp.parent.mkdir(parents=True, exist_ok=True)
        source = None if parent is None else published_layout(parent, self.label)
        if source is not None and kept and self._copy_parent(source, parent, rebuilt):
            self.days_carried = len(kept)
            self.seeded_from = "parent layout"
            return
        con = self._connect()
        for name, table in self.tables.items():
            con.register("_empty", table.schema.empty_table())
            create_table(con, name, "SELECT * FROM _empty")
            con.unregister("_empty")
        for name, spec in self.merged.items():
            columns = [
                ", ".join(spec.keys),
                *(f"CAST(NULL AS BIGINT) AS {c}" for c in spec.counts),
                *(f"CAST(NULL AS BLOB) AS {c}" for c in spec.sketches),
            ]
            con.register("_day", self.tables[spec.base].schema.empty_table())
            create_table(con, name, f"SELECT {', '.join(columns)} FROM _day LIMIT 0")
            con.unregister("_day")
        if parent is None or not kept:
            return
        wanted = {d: None for d in kept}
        parts = {name: day_files(parent, table) for name, table in self.tables.items()}
        for day in sorted(wanted):
            tables = {}
            self._wait_write()  # the connection serves one statement at a time
            for name in self.tables:
                files = parts[name].get(day)
                if files is not None:
                    tables[name] = con.sql(
                        "SELECT * FROM read_parquet(?, hive_partitioning = false)",
                        params=[list(files.files)],
                    ).to_arrow_table()
            self._append(day, tables, counted=False)
        self.days_carried = len(kept)
        self.seeded_from = "parent day files"

    def _copy_parent(self, source: Path, parent: Version | None, rebuilt: list[date]) -> bool:
        """Start from a copy of the parent's layout without the rebuilt days; False (and
        nothing copied) when the file is not one of this format for the parent's run."""
        assert parent is not None
        try:
            shutil.copyfile(source, self.tmp)
            con = self._connect()
            info = dict(con.execute(f"SELECT key, value FROM {INFO_TABLE}").fetchall())
        except (OSError, duckdb.Error) as exc:
            log.info("layout of %s not reused: %s", parent.name, exc)
            self._close()
            self.tmp.unlink(missing_ok=True)
            return False
        if (
            info.get("run_id") != parent.manifest.get("run_id")
            or info.get("format") != str(LAYOUT_FORMAT)
            # its tables keep the storage they were created with
            or info.get("storage") != SKETCH_STORAGE
        ):
            self._close()
            self.tmp.unlink(missing_ok=True)
            return False
        if rebuilt:
            for name in [*self.tables, *self.merged]:
                con.execute(f"DELETE FROM {name} WHERE list_contains(?, day)", [rebuilt])
        return True

    def _append(
        self,
        day: date,
        tables: Mapping[str, pa.Table],
        facts: DayFacts | None = None,
        counted: bool = True,
    ) -> None:
        """Buffer one day's rows and its rows merged over countries; written with the rest
        of their block once the block is full."""
        con = self._con if self._con is not None else self._connect()
        merged = self._merged_from_facts(facts)
        for name, table in merged.items():
            self._keep(name, table)
        for name, table in tables.items():
            if table.num_rows == 0:
                continue
            self._keep(name, table.select(self.tables[name].schema.names))
            self._buffered += table.num_rows
            merge = [t for t, spec in self.merged.items() if spec.base == name and t not in merged]
            if merge:
                self._wait_write()  # the connection serves one statement at a time
                con.register("_day", table.cast(self.tables[name].schema))
                for target in merge:
                    self._keep(target, self._merge(con, self.merged[target]))
                con.unregister("_day")
        if counted:
            self.days_written += 1
        self._buffered_days += counted
        if self._buffered >= BLOCK_ROWS or (
            self._buffered >= MIN_BLOCK_ROWS and self._buffered_days >= self._block_days
        ):
            self._flush()

    def _keep(self, name: str, table: pa.Table) -> None:
        """Buffer one day's rows of a table, with their sort keys when they can be had."""
        self._buffer.setdefault(name, []).append(table)
        keys = None if self._ranks is None else self._ranks.keys(table)
        self._keys.setdefault(name, []).append(keys)

    def _merged_from_facts(self, facts: DayFacts | None) -> dict[str, pa.Table]:
        """The merged tables of a day built straight from its facts, as if every event
        had happened in one country: the rollup builder's cells are then (asset) and
        (asset, label), their sketches built from the members' coupons at once — far
        cheaper than uniting each country's sketches (same counts; distinct estimates of
        the same member sets). Empty without facts or coding."""
        if facts is None or self._builder is None:
            return {}
        one = dataclasses.replace(
            facts,
            imp_country=np.zeros_like(facts.imp_country),
            play_country=np.zeros_like(facts.play_country),
        )
        built, _summary = self._builder.build(one, audience=False)
        out: dict[str, pa.Table] = {}
        for name, spec in self.merged.items():
            table = built.get(spec.base)
            if table is None:
                continue
            out[name] = table.select([*spec.keys, *spec.counts, *spec.sketches])
        return out

    def _merge(self, con: duckdb.DuckDBPyConnection, spec: MergedTable) -> pa.Table:
        """The day registered as `_day` merged over countries (sketches united)."""
        return spec.united(con.sql(spec.select("_day")).to_arrow_table(), self.lg_k)

    def _flush(self) -> None:
        """Hand the buffered days over as one block of each table, sorted by (title_id,
        asset_id, day): by their keys with numpy when every day has them (the day's
        dictionary-encoded strings go to DuckDB as they are), else by DuckDB. The block
        is inserted on the insert thread while the next one is gathered."""
        blocks: list[tuple[str, pa.Table, bool]] = []
        for name, parts in self._buffer.items():
            keys = [k for k in self._keys[name] if k is not None]
            if len(keys) == len(parts):
                order = np.argsort(np.concatenate(keys), kind="stable")
                blocks.append((name, pa.concat_tables(parts).take(pa.array(order)), False))
            else:
                schema = self._schema(name)
                blocks.append((name, pa.concat_tables([p.cast(schema) for p in parts]), True))
        self._buffer = {}
        self._keys = {}
        self._buffered = 0
        self._buffered_days = 0
        self.blocks += 1
        self._wait_write()
        self._writing = self._writer.submit(self._insert, blocks)

    def _wait_write(self) -> None:
        """Wait for the block being inserted (raising what the insert raised)."""
        writing, self._writing = self._writing, None
        if writing is not None:
            writing.result()

    def _insert(self, blocks: list[tuple[str, pa.Table, bool]]) -> None:
        """Append one block of each table (sorting the rows first where asked)."""
        con = self._con if self._con is not None else self._connect()
        for name, block, sort in blocks:
            order = f" ORDER BY {BLOCK_ORDER}" if sort else ""
            con.register("_block", block)
            con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM _block{order}")
            con.unregister("_block")

    def _schema(self, name: str) -> pa.Schema:
        """The plain column types of a table's rows (a merged table: those of its base)."""
        spec = self.merged.get(name)
        if spec is None:
            return self.tables[name].schema
        columns = [*spec.keys, *spec.counts, *spec.sketches]
        return pa.schema([self.tables[spec.base].schema.field(c) for c in columns])

    def _seal(self, run_id: str) -> None:
        con = self._con if self._con is not None else self._connect()
        self._wait_write()
        # the ingest waits for this last block with nothing else to do: use every core
        con.execute(f"SET threads = {max(os.cpu_count() or 1, 1)}")
        if self._buffer:
            self._flush()
            self._wait_write()
        con.execute(f"CREATE OR REPLACE TABLE {INFO_TABLE} (key VARCHAR, value VARCHAR)")
        con.executemany(
            f"INSERT INTO {INFO_TABLE} VALUES (?, ?)",
            [
                ("format", str(LAYOUT_FORMAT)),
                ("storage", SKETCH_STORAGE),
                ("run_id", run_id),
                ("order", "blocks of days, each sorted by title_id, asset_id, day"),
            ],
        )
        con.execute("CHECKPOINT")
        self._close()


class _Ranks:
    """Sort keys of the builder's rows: (title_id, asset_id, day) as one integer, from the
    run's dictionaries (titles and assets are numbered in ascending id order)."""

    def __init__(self, coding: Coding) -> None:
        self.titles = coding.title_ids
        self.assets = coding.asset_ids
        self.n_assets = max(len(coding.asset_ids), 1)

    def keys(self, table: pa.Table) -> npt.NDArray[np.int64] | None:
        """The rows' keys; None when their ids are not dictionary-encoded (rows read from
        files) or not all in the run's dictionaries."""
        title = self._numbers(table.column("title_id"), self.titles)
        asset = self._numbers(table.column("asset_id"), self.assets)
        if title is None or asset is None:
            return None
        day = table.column("day").combine_chunks().cast(pa.int32()).to_numpy()
        # days since 1970 stay below 2^16 until 2149; ranks leave room for them
        keys: npt.NDArray[np.int64] = (title * self.n_assets + asset) * (1 << 16) + day.astype(
            np.int64
        )
        return keys

    @staticmethod
    def _numbers(column: pa.ChunkedArray, values: pa.Array) -> npt.NDArray[np.int64] | None:
        if not pa.types.is_dictionary(column.type) or column.null_count:
            return None
        array = column.combine_chunks()
        rank = pc.index_in(array.dictionary, value_set=values)
        if rank.null_count:
            return None
        indices = array.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        ranks: npt.NDArray[np.int64] = rank.to_numpy().astype(np.int64)[indices]
        return ranks


def embedded_layout(staging: Staging, lg_k: int, *, enabled: bool = True) -> LayoutWriter:
    """A writer of the embedded backend's serving layout into `staging` (one that writes
    nothing unless `enabled`)."""
    return LayoutWriter(
        staging,
        EmbeddedBackend.name,
        EmbeddedBackend.tables,
        EmbeddedBackend.merged,
        lg_k,
        enabled=enabled,
    )


__all__ = ["LayoutWriter", "embedded_layout"]
