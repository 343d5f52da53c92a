"""Writing Spark results into a staging version with the warehouse's exact Arrow schemas.

Spark writes a scratch Parquet copy with all of a day's rows in one file, sorted (it runs on
the executors, in parallel, and writes one file per task: on a local file system Hadoop starts
a `chmod` process for every file and folder it creates, so a copy partitioned by day, with
a file per day and task, costs more than the work itself). Each scratch file is then read
back with Arrow on a few threads, split by day, its sketches turned into compact HLL_4 and
its columns cast to the table's schema, and written as `day=YYYY-MM-DD/part.parquet`.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from keyart.errors import IngestError
from keyart.etl.spark.sketches import convert_column
from keyart.warehouse.layout import day_partition

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

SKETCH_COLUMNS = ("imp_sketch", "play_sketch")
_EPOCH = date(1970, 1, 1)
_THREADS = 2  # scratch files converted at once (Arrow and numpy release the GIL)


def conform(table: pa.Table, schema: pa.Schema, lg_k: int) -> pa.Table:
    """`table` with exactly `schema`'s columns and types, sketches as compact HLL_4."""
    arrays: list[pa.Array | pa.ChunkedArray] = []
    for field in schema:
        if field.name in SKETCH_COLUMNS:
            arrays.append(convert_column(table.column(field.name), lg_k))
        else:
            try:
                arrays.append(table.column(field.name).cast(field.type))
            except (KeyError, pa.ArrowException) as exc:
                raise IngestError(
                    f"Spark output lacks a castable column {field.name!r} ({field.type})"
                ) from exc
    return pa.Table.from_arrays(arrays, schema=schema)


def sort_rows(table: pa.Table, order: Sequence[str]) -> pa.Table:
    """Rows in a stable order by the given columns (lists sort by their joined labels)."""
    if not order or table.num_rows == 0:
        return table
    keys: list[tuple[str, str, str]] = []
    work = table
    for name in order:
        column = table.column(name)
        if pa.types.is_list(column.type):
            joined = pc.binary_join(column, "\x1f")
            work = work.append_column(f"_sort_{name}", joined)
            keys.append((f"_sort_{name}", "ascending", "at_end"))
        else:
            keys.append((name, "ascending", "at_end"))
    indices = pc.sort_indices(work, sort_keys=keys)
    return table.take(indices)


def _day_numbers(table: pa.Table) -> np.ndarray:
    """The `day` column as days since the epoch (a date32 column is stored as such)."""
    return np.asarray(table.column("day").cast(pa.date32()).cast(pa.int32()).to_numpy())


def _split_file(path: Path, target: Path, schema: pa.Schema, lg_k: int) -> dict[date, int]:
    """Write every day held by one scratch file, whose rows Spark sorted; returns rows
    written per day."""
    table = pq.read_table(path)
    if table.num_rows == 0:
        return {}
    days = _day_numbers(table)
    if (np.diff(days) < 0).any():  # a day's rows must be contiguous to be split
        raise IngestError(f"Spark wrote the rows of {path.name} out of day order")
    starts = np.flatnonzero(np.r_[True, days[1:] != days[:-1]])
    ends = np.r_[starts[1:], len(days)]
    written: dict[date, int] = {}
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        day = _EPOCH + timedelta(days=int(days[start]))
        part = conform(table.slice(start, end - start), schema, lg_k)
        dest = target / day_partition(day)
        dest.mkdir(parents=True, exist_ok=True)
        pq.write_table(part, dest / "part.parquet")
        written[day] = part.num_rows
    return written


class DayWriter:
    """Writes DataFrames with a `day` column as `target/day=…/part.parquet` files.

    Spark writes each frame as one scratch file per partition, the frame partitioned by
    day into `partitions` parts (a no-op for a frame already so partitioned, see
    `Cleaner.facts`), so every day lies in one file. Background threads then split the
    files by day and convert them while Spark computes the next frame. Use as a context
    manager; `finish` waits for the files and returns the rows written per table and day.
    """

    def __init__(self, scratch: Path, lg_k: int, partitions: int) -> None:
        self.scratch = scratch
        self.lg_k = lg_k
        self.partitions = partitions
        self._pool = ThreadPoolExecutor(_THREADS, thread_name_prefix="keyart-spark-out")
        self._pending: list[tuple[str, Path, list[Future[dict[date, int]]]]] = []

    def __enter__(self) -> DayWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def write(
        self,
        name: str,
        frame: DataFrame,
        target: Path,
        schema: pa.Schema,
        order: Sequence[str] = (),
    ) -> None:
        """Write `frame` as table `name` into `target`, rows in `order` within a day."""
        folder = self.scratch / name
        # sorted by Spark, in the JVM: free when the frame comes out of a sort-based
        # aggregation by these keys already (the rollups), and far cheaper than Arrow's
        # multi-column string sort on the driver otherwise
        frame.repartition(self.partitions, "day").sortWithinPartitions("day", *order).write.mode(
            "overwrite"
        ).option("compression", "uncompressed").parquet(str(folder))
        files = sorted(p for p in folder.glob("*.parquet") if not p.name.startswith((".", "_")))
        jobs = [self._pool.submit(_split_file, f, target, schema, self.lg_k) for f in files]
        self._pending.append((name, folder, jobs))

    def finish(self) -> dict[str, dict[date, int]]:
        """Wait for every table written; rows written per table and day."""
        out: dict[str, dict[date, int]] = {}
        for name, folder, jobs in self._pending:
            written = out.setdefault(name, {})
            for job in jobs:
                for day, rows in job.result().items():
                    if day in written:  # a day split over files would be overwritten
                        raise IngestError(f"Spark wrote rows of {name} {day} into several files")
                    written[day] = rows
            shutil.rmtree(folder, ignore_errors=True)
        self._pending.clear()
        return out


def write_table(
    frame: DataFrame, path: Path, schema: pa.Schema, lg_k: int, order: Sequence[str] = ()
) -> pa.Table:
    """Collect a small DataFrame through Arrow and write it as one Parquet file of
    `schema`, rows in `order`; returns the table written."""
    # sorted here, not by Spark: an ORDER BY costs Spark a sampling job and a shuffle
    table = sort_rows(conform(frame.toArrow(), schema, lg_k), order)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return table


__all__ = ["SKETCH_COLUMNS", "DayWriter", "conform", "sort_rows", "write_table"]
