"""The daily output of a run: every day's rollups and clean event tables built from the
coded facts and written into the staged version, a batch of days at a time."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

import duckdb
import pyarrow as pa

from keyart.etl.embedded.alltime import AlltimeTotals
from keyart.etl.embedded.checkpoints import Checkpoint
from keyart.etl.embedded.duck import day_of
from keyart.etl.embedded.facts import batches, days_of
from keyart.etl.embedded.rollups import Coding, DayFacts, RollupBuilder
from keyart.etl.embedded.write import ParquetWriter
from keyart.etl.runs import StepTimer
from keyart.warehouse.layout import Staging, day_partition
from keyart.warehouse.tables import ROLLUPS


@dataclass(frozen=True)
class DaysWritten:
    """What writing the days produced besides the files."""

    rows: dict[str, int]  # rows written per rollup
    totals: AlltimeTotals  # the days' all-time measures (merged with the parent's later)
    library_sketches: int  # sketches the DataSketches library built (benchmarks)
    library_updates: int  # values fed to the library one by one (benchmarks)


def write_days(
    con: duckdb.DuckDBPyConnection,
    staging: Staging,
    coding: Coding,
    lg_k: int,
    steps: StepTimer,
    checkpoint: Checkpoint,
    *,
    list_mode: bool = True,
    on_day: Callable[[date, Mapping[str, pa.Table], DayFacts], None] | None = None,
) -> DaysWritten:
    """Build and write every day's rollups and event tables of `imp` and `play` (handing
    each day's rollups and facts to `on_day` too: the serving layout's writer)."""
    builder = RollupBuilder(coding, lg_k, list_mode=list_mode)
    totals = AlltimeTotals(coding)
    ranges = batches(con)
    bar = steps.bar
    if bar is not None:
        bar.total = (bar.total or 0) + len(ranges)
        bar.refresh()
    view = staging.version_view()
    writer = ParquetWriter(staging)
    try:
        for lo, hi in ranges:
            for facts in days_of(con, lo, hi):
                part = day_partition(day_of(facts.day))
                tables, summary = builder.build(facts)
                for name, table in tables.items():
                    writer.submit(name, table, view.rollup_dir(name) / part / "part.parquet")
                if on_day is not None:
                    on_day(day_of(facts.day), tables, facts)
                if summary is not None:
                    totals.add(summary)
                for name, table in builder.events(facts).items():
                    writer.submit(name, table, view.events_dir(name) / part / "part.parquet")
            steps.tick(f"rollups {day_of(hi)}")
            checkpoint("rollups", writer.drain)
    finally:
        writer.close()
    return DaysWritten(
        rows={r.name: writer.rows.get(r.name, 0) for r in ROLLUPS},
        totals=totals,
        library_sketches=builder.sketcher.library_sketches,
        library_updates=builder.sketcher.library_updates,
    )


__all__ = ["DaysWritten", "write_days"]
