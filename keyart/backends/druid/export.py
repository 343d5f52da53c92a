"""Export warehouse rollup partitions to newline-delimited JSON that core Druid can ingest.

Sketches are base64 strings of the serialised HLL sketches (what Druid's HLLSketchMerge
accepts at ingestion); dates become `yyyy-MM-dd`; the affinity set stays a JSON array.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from keyart.backends.druid.specs import (
    AFFINITIES_COLUMN,
    COUNT_COLUMNS,
    SINGLE_VALUE_DIMENSIONS,
    SKETCH_COLUMNS,
)
from keyart.backends.duckdb.sql import sql_identifier, sql_string
from keyart.errors import WarehouseError
from keyart.warehouse.layout import Version
from keyart.warehouse.tables import Rollup

_DAY_PREFIX = "day="


@dataclass(frozen=True, slots=True)
class ExportStats:
    """What one rollup export wrote: days, rows and totals to verify the Druid load with."""

    days: tuple[date, ...]
    rows: int
    impressions: int
    qualified_plays: int
    files: tuple[Path, ...]


def rollup_days(version: Version, rollup: Rollup) -> list[tuple[date, Path]]:
    """The day partitions of one rollup of a version, ascending, with their folders."""
    folder = version.rollup_dir(rollup)
    if not folder.is_dir():
        raise WarehouseError(f"warehouse version {version.name} has no rollup folder {folder}")
    days: list[tuple[date, Path]] = []
    for path in sorted(folder.iterdir()):
        if not (path.is_dir() and path.name.startswith(_DAY_PREFIX)):
            continue
        try:
            day = date.fromisoformat(path.name[len(_DAY_PREFIX) :])
        except ValueError as exc:
            raise WarehouseError(f"unexpected partition folder {path}") from exc
        if any(path.glob("*.parquet")):
            days.append((day, path))
    return days


def _select_sql(rollup: Rollup, day: date) -> str:
    columns = [f"DATE {sql_string(day.isoformat())}::VARCHAR AS day"]
    columns += [sql_identifier(c) for c in SINGLE_VALUE_DIMENSIONS]
    if rollup.affinity == "multi":
        columns.append(sql_identifier(AFFINITIES_COLUMN))
    columns += [sql_identifier(c) for c in COUNT_COLUMNS]
    columns += [f"to_base64({sql_identifier(c)}) AS {sql_identifier(c)}" for c in SKETCH_COLUMNS]
    return "SELECT " + ", ".join(columns) + " FROM read_parquet($glob, hive_partitioning=false)"


def export_rollup(version: Version, rollup: Rollup, out_dir: Path) -> ExportStats:
    """Write one `<day>.json` file per day partition of `rollup` into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    days = rollup_days(version, rollup)
    files: list[Path] = []
    rows = impressions = plays = 0
    con = duckdb.connect()
    try:
        for day, folder in days:
            glob = str(folder / "*.parquet")
            target = out_dir / f"{day.isoformat()}.json"
            select = _select_sql(rollup, day)
            try:
                con.execute(
                    f"COPY ({select}) TO {sql_string(target)} (FORMAT JSON)", {"glob": glob}
                )
                count, imp, ply = con.execute(
                    "SELECT count(*), coalesce(sum(impressions), 0), "
                    "coalesce(sum(qualified_plays), 0) "
                    "FROM read_parquet($glob, hive_partitioning=false)",
                    {"glob": glob},
                ).fetchone() or (0, 0, 0)
            except duckdb.Error as exc:
                raise WarehouseError(f"cannot export {glob} for Druid: {exc}") from exc
            rows += int(count)
            impressions += int(imp)
            plays += int(ply)
            files.append(target)
    finally:
        con.close()
    return ExportStats(tuple(d for d, _ in days), rows, impressions, plays, tuple(files))


__all__ = ["ExportStats", "export_rollup", "rollup_days"]
