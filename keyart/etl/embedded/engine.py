"""`keyart ingest` on the embedded engine: validate raw Parquet, quarantine and dedupe with
the shared portable SQL rules, attribute plays, build daily sketch rollups, clean event
tables and all-time tables, and publish them as a new warehouse version (then a snapshot).

Re-ingesting a day replaces it; days of the parent version that the raw input does not
touch are hard-linked into the new version. Everything is written into a staging folder
that becomes visible only through `Staging.commit`, so a run killed at any point leaves the
previous version current.

The run is a pipeline of steps, one module each, working in one DuckDB connection
(`duck`): `dimensions` (titles, assets, their numbers, member profiles) → `clean`
(classify and dedupe the events; the accounting) → `attribute` (members as numbers,
attributed plays) → quality gates → `coding` (the dictionaries as arrays) → `days` (daily
rollups and event tables, via `facts`, `rollups` and `write`) → `alltime` → `layout` (the
serving layout, unless turned off: docs/serving-layout.md) → commit. Each
step's DuckDB relations are named in its module; what a step hands on is a value.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import duckdb
from tqdm import tqdm

from keyart.config import EtlSettings, GateSettings
from keyart.errors import IngestError
from keyart.etl import contract
from keyart.etl.embedded import clean, duck
from keyart.etl.embedded.alltime import write_alltime
from keyart.etl.embedded.attribute import attribute, code_members, day_volumes
from keyart.etl.embedded.checkpoints import Checkpoint, go_on, nothing_to_settle
from keyart.etl.embedded.coding import coding
from keyart.etl.embedded.days import write_days
from keyart.etl.embedded.dimensions import build_dimensions, write_dimensions
from keyart.etl.embedded.layout import embedded_layout
from keyart.etl.report import IngestReport
from keyart.etl.runs import (
    IngestRun,
    RunCounts,
    link_parent_days,
    progress_bar,
    publish,
    writing,
)
from keyart.warehouse.layout import Version, Warehouse
from keyart.warehouse.lock import DEFAULT_WAIT_S, WriterLock

# the steps the progress bar and the report's stage timings name
_STEPS = (
    "dims",
    "events",
    "attribute",
    "codes",
    "write days",
    "all-time",
    "serving layout",
    "commit",
)


class _EmbeddedRun(IngestRun):
    """One embedded ingest run: the shared run state and its DuckDB connection."""

    engine = "embedded"

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        warehouse: Warehouse,
        settings: EtlSettings,
        bar: tqdm[Any] | None,
        writer: WriterLock,
    ) -> None:
        super().__init__(warehouse, settings, bar, "ingest", writer=writer)
        self.con = con

    def write_quarantined(self, table: str, path: Path) -> None:
        clean.write_quarantined(self.con, table, path)


def ingest(
    raw: Path,
    warehouse: Path,
    settings: EtlSettings = EtlSettings(),  # noqa: B008 - frozen, immutable default
    *,
    progress: bool = False,
    publish_snapshot: bool = True,
    list_mode: bool = True,
    wait_s: float = DEFAULT_WAIT_S,
    gates: GateSettings = GateSettings(),  # noqa: B008 - frozen, immutable default
    checkpoint: Checkpoint = go_on,
    serving_layout: bool | None = None,
) -> IngestReport:
    """Ingest a raw directory into a warehouse as a new version; returns the run's report.
    A schema problem raises ContractError before anything is written. The run holds the
    warehouse's writer lock throughout (waiting up to `wait_s` seconds for another run;
    WarehouseBusy after). Quality `gates` refuse a run with anomalies before anything is
    written (QualityGateError). `list_mode=False` builds every sketch through the library
    (benchmark comparison; same results). `checkpoint` is called at the named points of
    `keyart.etl.embedded.checkpoints.STEPS` (tests pause or kill the run there).
    The run also writes the version's serving layout, so that servers serve it at once
    (docs/serving-layout.md), unless `serving_layout` (default: `settings.serving_layout`)
    is False."""
    started = time.perf_counter()
    if serving_layout is None:
        serving_layout = settings.serving_layout
    raw_input = contract.validate(raw)
    wh = Warehouse(warehouse)
    with writing(wh, wait_s) as writer, progress_bar(progress, len(_STEPS), "ingest") as bar:
        checkpoint("locked", nothing_to_settle)
        con = duck.connect()
        try:
            run = _EmbeddedRun(con, wh, settings, bar, writer)
            version, report = _build(
                run, raw_input, started, gates, list_mode, checkpoint, serving_layout
            )
        except duckdb.Error as exc:
            raise IngestError(f"ingest of {raw} failed: {exc}") from exc
        finally:
            con.close()
        checkpoint("snapshot", nothing_to_settle)  # committed, snapshot not yet published
        return publish(wh, version, report, started, publish_snapshot)


def _build(
    run: _EmbeddedRun,
    raw: contract.RawInput,
    started: float,
    gates: GateSettings,
    list_mode: bool,
    checkpoint: Checkpoint,
    serving_layout: bool,
) -> tuple[Version, IngestReport]:
    con, lap, lg_k = run.con, run.steps.lap, run.settings.lg_k
    build_dimensions(con, raw, run.parent)
    lap("dims")
    clean.classify_events(con, raw)
    accounting = clean.accounting(con, raw)
    new_days = clean.new_days(con)
    kept = run.kept_days(new_days)
    lap("events")
    code_members(con, run.settings)
    attribution = attribute(con, run.settings, run.parent, new_days)
    run.check_gates(gates, accounting, attribution, day_volumes(con))
    lap("attribute")
    # the serving layout is written beside the day files and published with them
    with (
        run.wh.stage(run.writer) as staging,
        embedded_layout(staging, lg_k, enabled=serving_layout) as layout,
    ):
        spill = staging.root / "_duckdb_tmp"
        duck.spill_to(con, spill)
        codes = coding(con, lg_k)
        lap("codes")
        layout.open(run.parent, new_days, kept, codes, list_mode=list_mode)
        days = write_days(
            con,
            staging,
            codes,
            lg_k,
            run.steps,
            checkpoint,
            list_mode=list_mode,
            on_day=layout.add,
        )
        write_dimensions(con, staging.version_view())
        link_parent_days(staging, run.parent, kept)
        lap("write days")
        write_alltime(con, lg_k, days.totals, run.parent, kept, staging.version_view())
        lap("all-time")
        layout.finish(run.run_id)  # what the writer thread has left after the days
        lap("serving layout")
        quarantine = run.write_quarantine(accounting.quarantined)
        shutil.rmtree(spill, ignore_errors=True)
        version, report = run.commit(
            staging,
            RunCounts(accounting, attribution, days.rows, new_days, kept),
            started,
            quarantine,
            extra={
                "stage_s": run.steps.timings,
                "serving_layout": layout.summary(),
                "sketches": {
                    "list_mode": list_mode,
                    "library_sketches": days.library_sketches,
                    "library_updates": days.library_updates,
                },
            },
            before=lambda: checkpoint("commit", nothing_to_settle),
        )
        lap("commit")
    return version, report


__all__ = ["ingest"]
