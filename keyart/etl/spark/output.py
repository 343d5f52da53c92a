"""Writing Spark results into a staging version with the warehouse's exact Arrow schemas.

Spark writes a day-partitioned Parquet scratch copy (it runs on the executors, in
parallel); each day folder is then read back with Arrow, its sketches turned into compact
HLL_4, its columns cast to the table's schema (the `day` column restored, since Spark moves
partition columns into folder names) and written as `day=YYYY-MM-DD/part.parquet`.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from keyart.errors import IngestError
from keyart.etl.spark.sketches import convert_column
from keyart.warehouse.layout import day_partition

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

SKETCH_COLUMNS = ("imp_sketch", "play_sketch")
_PREFIX = "day="


def conform(table: pa.Table, schema: pa.Schema, lg_k: int, *, day: date | None = None) -> pa.Table:
    """`table` with exactly `schema`'s columns and types: sketches as compact HLL_4,
    `day` filled in when given (it is the partition folder's value)."""
    arrays: list[pa.Array | pa.ChunkedArray] = []
    for field in schema:
        if field.name == "day" and day is not None and "day" not in table.column_names:
            arrays.append(pa.array([day] * table.num_rows, pa.date32()))
        elif field.name in SKETCH_COLUMNS:
            arrays.append(convert_column(table.column(field.name).to_pylist(), lg_k))
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


def write_by_day(
    frame: DataFrame,
    scratch: Path,
    target: Path,
    schema: pa.Schema,
    lg_k: int,
    order: Sequence[str] = (),
) -> dict[date, int]:
    """Write a DataFrame with a `day` column as `target/day=…/part.parquet` files of
    `schema`; returns rows written per day."""
    frame.write.mode("overwrite").partitionBy("day").parquet(str(scratch))
    written: dict[date, int] = {}
    folders = (
        sorted(p for p in scratch.iterdir() if p.name.startswith(_PREFIX))
        if (scratch.is_dir())
        else []
    )
    for folder in folders:
        day = date.fromisoformat(folder.name[len(_PREFIX) :])
        files = sorted(p for p in folder.glob("*.parquet") if not p.name.startswith((".", "_")))
        if not files:
            continue
        raw = pa.concat_tables(pq.read_table(p) for p in files)
        table = sort_rows(conform(raw, schema, lg_k, day=day), order)
        dest = target / day_partition(day)
        dest.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, dest / "part.parquet")
        written[day] = table.num_rows
    shutil.rmtree(scratch, ignore_errors=True)
    return written


def write_table(frame: DataFrame, path: Path, schema: pa.Schema, lg_k: int) -> pa.Table:
    """Collect a small DataFrame through Arrow and write it as one Parquet file of
    `schema`; returns the table written."""
    table = conform(frame.toArrow(), schema, lg_k)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return table


__all__ = ["SKETCH_COLUMNS", "conform", "sort_rows", "write_by_day", "write_table"]
