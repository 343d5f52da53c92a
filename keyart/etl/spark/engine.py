"""`keyart ingest --engine spark`: the same warehouse as the embedded engine, built on Spark.

Validation, quarantine, dedupe and attribution run the shared contract code and portable
SQL (`keyart.etl.contract`, `rules`, `attribution`). On local masters the daily rollups and
event tables are built per day in Spark's Python workers by the embedded engine's numpy
builder (`keyart.etl.spark.days`); on a cluster master, whose workers run Spark alone, by
Spark's DataSketches functions (`hll_sketch_agg`). All-time merges use `hll_union_agg`. The
output is staged and committed through `keyart.warehouse.layout` exactly like the
embedded engine's, with the same manifest, report and snapshot publication.
"""

from __future__ import annotations

import math
import shutil
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from keyart.config import EtlSettings, GateSettings
from keyart.errors import IngestError, KeyartError
from keyart.etl import contract
from keyart.etl.report import IngestReport
from keyart.etl.runs import (
    Attribution,
    IngestRun,
    RunCounts,
    link_parent_days,
    progress_bar,
    publish,
    writing,
)
from keyart.etl.schemas import RAW_TABLES
from keyart.etl.spark.alltime import (
    AlltimeBuilder,
    AlltimePlan,
    plan,
    write_version_alltime,
)
from keyart.etl.spark.clean import DIM_SCHEMAS, Cleaner
from keyart.etl.spark.days import WRITTEN_SCHEMA, DayTargets, partition_writer
from keyart.etl.spark.output import DayWriter, write_table
from keyart.etl.spark.read import load_raw
from keyart.etl.spark.rollups import ROLLUP_ORDER, rollup_sql
from keyart.etl.spark.session import executor_count, is_local, spark_session
from keyart.warehouse.layout import Staging, Version, Warehouse
from keyart.warehouse.lock import DEFAULT_WAIT_S, WriterLock
from keyart.warehouse.tables import (
    ALLTIME_ASSETS,
    ALLTIME_TITLES,
    EVENT_IMPRESSIONS,
    EVENT_PLAYS,
    ROLLUPS,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_DESC = "ingest (spark)"
RollupPath = Literal["auto", "python", "sql"]

# days of facts per Spark partition (never fewer partitions than spark.sql.shuffle.partitions)
DAYS_PER_PARTITION = 8
_STEPS = (
    "session",
    "load",
    "dims",
    "events",
    "attribute",
    "rollups",
    "events out",
    "all-time",
    "commit",
)


class _SparkRun(IngestRun):
    """The state of one Spark ingest run."""

    engine = "spark"

    def __init__(
        self,
        spark: SparkSession,
        raw: contract.RawInput,
        warehouse: Warehouse,
        settings: EtlSettings,
        bar: tqdm[Any] | None,
        started: float,
        writer: WriterLock | None = None,
    ) -> None:
        super().__init__(warehouse, settings, bar, _DESC, started, writer=writer)
        self.spark = spark
        self.raw = raw
        self.cleaner = Cleaner(spark, settings, self.parent)

    def moved_assets(self) -> int:
        """Assets whose title differs from the parent's dimension (all-time must be redone)."""
        if self.parent is None or not self.parent.dim_path("assets").exists():
            return 0
        old = pq.read_table(self.parent.dim_path("assets"), columns=["asset_id", "title_id"])
        self.spark.createDataFrame(old).createOrReplaceTempView("parent_asset_titles")
        return int(
            self.spark.sql(
                "SELECT count(*) FROM dim_assets d JOIN parent_asset_titles p"
                " ON p.asset_id = d.asset_id WHERE p.title_id <> d.title_id"
            ).collect()[0][0]
        )

    def write_rollups(self, out: DayWriter, staging: Staging) -> None:
        """Aggregate and write the three daily rollups."""
        view = staging.version_view()
        for rollup in ROLLUPS:
            frame = self.spark.sql(rollup_sql(rollup, "facts", self.settings.lg_k))
            out.write(
                rollup.name,
                frame,
                view.rollup_dir(rollup),
                rollup.schema,
                ROLLUP_ORDER[rollup.name],
            )

    def write_days(self, staging: Staging) -> dict[str, dict[date, int]]:
        """Build and write every day's rollups and event tables in the Python workers
        (`keyart.etl.spark.days`); rows written per table and day. The tasks look assets
        up in the staged asset dimension (`write_dims` first)."""
        view = staging.version_view()
        profiles = staging.root / "_spark" / "profiles"
        # the profiles are many (a row per member): written by the executors
        self.spark.table("profiles").select("member_id", "labels").write.parquet(str(profiles))
        targets = DayTargets.of(view, self.settings.lg_k, view.dim_path("assets"), profiles)
        rows = (
            self.spark.table("facts")
            .mapInArrow(partition_writer(targets), WRITTEN_SCHEMA)
            .collect()
        )
        out: dict[str, dict[date, int]] = {}
        for row in rows:
            written = out.setdefault(row["name"], {})
            if row["day"] in written:  # a day split over partitions would be overwritten
                raise IngestError(f"rows of {row['name']} {row['day']} came from two tasks")
            written[row["day"]] = int(row["rows"])
        return out

    def write_events(self, out: DayWriter, staging: Staging) -> None:
        """Write the clean event tables (the facts, split back into their two kinds)."""
        view = staging.version_view()
        for name, kind, schema in (
            ("impressions", "is_imp", EVENT_IMPRESSIONS),
            ("plays", "NOT is_imp", EVENT_PLAYS),
        ):
            frame = self.spark.sql(f"SELECT {', '.join(schema.names)} FROM facts WHERE {kind}")
            out.write(f"events_{name}", frame, view.events_dir(name), schema)

    def write_alltime(self, view: Version, how: AlltimePlan) -> dict[str, Any]:
        """Build and write the all-time tables with Spark SQL as `how` says (merging into
        the parent's where it can); what was done, for the report."""
        builder = AlltimeBuilder(self.spark, self.settings.lg_k)
        assets = write_table(
            builder.assets(view, self.parent, how),
            view.alltime_path("assets"),
            ALLTIME_ASSETS,
            self.settings.lg_k,
            ("asset_id",),
        )
        write_table(
            builder.titles(assets),
            view.alltime_path("titles"),
            ALLTIME_TITLES,
            self.settings.lg_k,
            ("title_id",),
        )
        return {
            "mode": how.mode,
            "reason": how.reason,
            "replaced_days": [d.isoformat() for d in how.replaced_days],
            "daily_files_read": builder.daily_files_read,
        }

    def write_dims(self, staging: Staging) -> None:
        view = staging.version_view()
        for name, key in (("titles", "title_id"), ("assets", "asset_id")):
            frame = self.spark.table(f"dim_{name}")
            write_table(frame, view.dim_path(name), DIM_SCHEMAS[name], self.settings.lg_k, (key,))

    def write_quarantined(self, table: str, path: Path) -> None:
        schema = RAW_TABLES[table].append(pa.field("reason", pa.string()))
        rows = self.cleaner.quarantine_rows(table).toArrow()
        arrays = [rows.column(f.name).cast(f.type) for f in schema]
        pq.write_table(pa.Table.from_arrays(arrays, schema=schema), path)


def _build(
    run: _SparkRun, started: float, master: str, gates: GateSettings, rollups: RollupPath
) -> tuple[Version, IngestReport]:
    settings = run.settings
    load_raw(run.spark, run.raw)
    run.steps.lap("load")
    run.cleaner.dims()
    run.steps.lap("dims")
    run.cleaner.events()
    accounting, new_days = run.cleaner.accounting(list(run.raw.tables))
    kept = run.kept_days(new_days)
    run.steps.lap("events")
    qualified, attributed = run.cleaner.attribute(new_days)
    attribution = Attribution(qualified, attributed, run.cleaner.without_profile())
    run.check_gates(gates, accounting, attribution, run.cleaner.day_volumes())
    partitions = max(
        int(run.spark.conf.get("spark.sql.shuffle.partitions") or 1),
        math.ceil(len(new_days) / DAYS_PER_PARTITION),
    )
    python_days = rollup_path(rollups, master) == "python"
    run.cleaner.facts(partitions, narrow=python_days)
    run.steps.lap("attribute")
    with run.wh.stage(run.writer) as staging:
        run.write_dims(staging)
        if python_days:
            tables = run.write_days(staging)
            run.steps.lap("rollups")  # with the event tables, written in the same pass
        else:
            with DayWriter(staging.root / "_spark", settings.lg_k, partitions) as out:
                run.write_rollups(out, staging)
                run.steps.lap("rollups")
                run.write_events(out, staging)
                tables = out.finish()
        written = {r.name: sum(tables.get(r.name, {}).values()) for r in ROLLUPS}
        link_parent_days(staging, run.parent, kept)
        run.steps.lap("events out")
        view = staging.version_view()
        if python_days:
            # the day files are on this machine: the embedded engine's all-time builder
            write_version_alltime(
                view, sorted({*new_days, *kept}), settings.lg_k, staging.root / "_spark"
            )
            alltime = {"mode": "version", "reason": "every day of the version, as embedded"}
        else:
            alltime = run.write_alltime(view, plan(run.parent, new_days, run.moved_assets()))
        shutil.rmtree(staging.root / "_spark", ignore_errors=True)
        run.steps.lap("all-time")
        version, report = run.commit(
            staging,
            RunCounts(accounting, attribution, written, new_days, kept),
            started,
            run.write_quarantine(accounting.quarantined),
            extra={
                "spark_version": run.spark.version,
                "master": master,
                "rollups": "python" if python_days else "sql",
                "executors": executor_count(run.spark),
                "alltime": alltime,
                "steps_s": dict(run.steps.timings),
            },
        )
        run.steps.lap("commit")
    return version, report


def _summary(exc: BaseException, limit: int = 600) -> str:
    """The first meaningful lines of an error (Py4J errors carry whole Java stack traces)."""
    lines = [
        ln.strip()
        for ln in str(exc).splitlines()
        if ln.strip() and not ln.strip().startswith("at ")
    ]
    text = " | ".join(lines[:3]) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def ingest_spark(
    raw: Path,
    warehouse: Path,
    settings: EtlSettings,
    *,
    master: str = "local[2]",
    rollups: RollupPath = "auto",
    progress: bool = False,
    publish_snapshot: bool = True,
    wait_s: float = DEFAULT_WAIT_S,
    gates: GateSettings = GateSettings(),  # noqa: B008 - frozen, immutable default
) -> IngestReport:
    """Ingest a raw directory into a warehouse on Spark as a new version; returns the
    report. A schema problem raises ContractError before Spark starts or anything is
    written; the previous version stays current when anything fails. The run holds the
    warehouse's writer lock throughout (waiting up to `wait_s` seconds for another);
    quality `gates` refuse a run with anomalies before anything is written. `rollups` says
    how the daily rollups are built (see `rollup_path`)."""
    started = time.perf_counter()
    raw_input = contract.validate(raw)
    wh = Warehouse(warehouse)
    with (
        writing(wh, wait_s) as writer,
        progress_bar(progress, len(_STEPS), _DESC) as bar,
        spark_session(master) as spark,
    ):
        run = _SparkRun(spark, raw_input, wh, settings, bar, started, writer=writer)
        run.steps.lap("session")
        try:
            version, report = _build(run, started, master, gates, rollups)
        except KeyartError:
            raise
        except Exception as exc:  # Spark's Py4J/analysis errors: the run failed
            raise IngestError(f"spark ingest of {raw} failed: {_summary(exc)}") from exc
        finally:
            run.cleaner.release()
        # still under the writer lock: a snapshot always describes a committed version
        return publish(wh, version, report, started, publish_snapshot)


def rollup_path(rollups: RollupPath, master: str) -> Literal["python", "sql"]:
    """How a run builds its daily rollups and event tables: "python" runs the embedded
    engine's day builder in Spark's Python workers (byte-identical to the embedded engine,
    ~6x faster; every worker needs keyart installed), "sql" uses Spark's DataSketches
    functions (the workers need Spark only). "auto" picks "python" on this machine's masters
    and "sql" on a cluster, whose workers (e.g. the official Spark image) may lack keyart."""
    if rollups == "auto":
        return "python" if is_local(master) else "sql"
    return rollups


__all__ = ["RollupPath", "ingest_spark", "rollup_path"]
