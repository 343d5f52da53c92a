"""`keyart ingest --engine spark`: the same warehouse as the embedded engine, built on Spark.

Validation, quarantine, dedupe and attribution run the shared contract code and portable
SQL (`keyart.etl.contract`, `rules`, `attribution`); rollups and all-time merges use
Spark's DataSketches functions (`hll_sketch_agg`, `hll_union_agg`); the output is staged
and committed through `keyart.warehouse.layout` exactly like the embedded engine's, with
the same manifest, report and snapshot publication.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from keyart.config import EtlSettings
from keyart.errors import IngestError, KeyartError
from keyart.etl import contract
from keyart.etl.report import IngestReport
from keyart.etl.schemas import RAW_TABLES
from keyart.etl.spark.alltime import AlltimeBuilder, plan
from keyart.etl.spark.clean import DIM_SCHEMAS, Cleaner
from keyart.etl.spark.output import write_by_day, write_table
from keyart.etl.spark.read import load_raw
from keyart.etl.spark.rollups import ROLLUP_ORDER, facts_sql, rollup_sql
from keyart.etl.spark.session import spark_session
from keyart.warehouse.layout import Staging, Version, Warehouse, day_partition
from keyart.warehouse.tables import (
    ALLTIME_ASSETS,
    ALLTIME_TITLES,
    EVENT_IMPRESSIONS,
    EVENT_PLAYS,
    ROLLUPS,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

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
_SETTINGS = ("lg_k", "qualify_seconds", "engaged_seconds", "attribution_hours")


@contextmanager
def _progress(enabled: bool) -> Iterator[tqdm[Any] | None]:
    if not enabled:
        yield None
        return
    bar = tqdm(total=len(_STEPS), unit="step", desc="ingest (spark)")
    try:
        yield bar
    finally:
        bar.close()


def _step(bar: tqdm[Any] | None, name: str) -> None:
    if bar is not None:
        bar.set_description(f"ingest (spark): {name}")
        bar.update(1)


def check_parent_settings(parent: Version | None, settings: EtlSettings, kept: list[date]) -> None:
    """Refuse to mix metric definitions: kept parent days must share this run's settings."""
    if parent is None or not kept:
        return
    before = parent.manifest.get("etl", {})
    for field in _SETTINGS:
        now = getattr(settings, field)
        if field in before and int(before[field]) != now:
            raise IngestError(
                f"{field}={now} differs from {before[field]} used by warehouse version "
                f"{parent.name}, whose days {kept[0]}..{kept[-1]} would be kept: re-ingest "
                f"every day with the new settings into a fresh warehouse, or keep "
                f"{field}={before[field]}"
            )


def _rollup_totals(version: Version) -> dict[str, int]:
    return {
        r.name: sum(
            pq.ParquetFile(f).metadata.num_rows
            for f in version.rollup_dir(r).glob("day=*/*.parquet")
        )
        for r in ROLLUPS
    }


class _SparkRun:
    """The state of one Spark ingest run."""

    def __init__(
        self,
        spark: SparkSession,
        raw: contract.RawInput,
        warehouse: Warehouse,
        settings: EtlSettings,
        bar: tqdm[Any] | None,
    ) -> None:
        self.spark = spark
        self.raw = raw
        self.wh = warehouse
        self.settings = settings
        self.bar = bar
        self.parent = warehouse.current_or_none()
        self.run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
        self.cleaner = Cleaner(spark, settings, self.parent)
        self.timings: dict[str, float] = {}
        self._mark = time.perf_counter()

    def step(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round(now - self._mark, 3)
        self._mark = now
        _step(self.bar, name)

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

    def write_rollups(self, staging: Staging) -> dict[str, int]:
        view = staging.version_view()
        written: dict[str, int] = {}
        self.spark.sql(facts_sql()).createOrReplaceTempView("facts")
        for rollup in ROLLUPS:
            frame = self.spark.sql(rollup_sql(rollup, "facts", self.settings.lg_k))
            per_day = write_by_day(
                frame,
                staging.root / "_spark" / rollup.name,
                view.rollup_dir(rollup),
                rollup.schema,
                self.settings.lg_k,
                ROLLUP_ORDER[rollup.name],
            )
            written[rollup.name] = sum(per_day.values())
        return written

    def write_events(self, staging: Staging) -> None:
        view = staging.version_view()
        for name, source, schema in (
            ("impressions", "imp_events", EVENT_IMPRESSIONS),
            ("plays", "play_events", EVENT_PLAYS),
        ):
            write_by_day(
                self.spark.table(source),
                staging.root / "_spark" / f"events_{name}",
                view.events_dir(name),
                schema,
                self.settings.lg_k,
            )

    def write_dims(self, staging: Staging) -> None:
        view = staging.version_view()
        for name, key in (("titles", "title_id"), ("assets", "asset_id")):
            frame = self.spark.sql(f"SELECT * FROM dim_{name} ORDER BY {key}")
            write_table(frame, view.dim_path(name), DIM_SCHEMAS[name], self.settings.lg_k)

    def link_parent_days(self, staging: Staging, new_days: list[date]) -> list[date]:
        if self.parent is None:
            return []
        kept = [d for d in self.parent.days if d not in set(new_days)]
        for d in kept:
            part = day_partition(d)
            for rollup in ROLLUPS:
                staging.link_from(self.parent, f"rollups/{rollup.name}/{part}")
            for name in ("impressions", "plays"):
                staging.link_from(self.parent, f"events/{name}/{part}")
        return kept

    def write_quarantine(self, quarantined: dict[str, dict[str, int]]) -> Path | None:
        folder = self.wh.quarantine_dir / self.run_id
        wrote = False
        for name, by_reason in quarantined.items():
            if not sum(by_reason.values()):
                continue
            schema = RAW_TABLES[name].append(pa.field("reason", pa.string()))
            table = self.cleaner.quarantine_rows(name).toArrow()
            folder.mkdir(parents=True, exist_ok=True)
            arrays = [table.column(f.name).cast(f.type) for f in schema]
            pq.write_table(pa.Table.from_arrays(arrays, schema=schema), folder / f"{name}.parquet")
            wrote = True
        return folder if wrote else None


def _build(run: _SparkRun, started: float, master: str) -> tuple[Version, IngestReport]:
    settings = run.settings
    load_raw(run.spark, run.raw)
    run.step("load")
    run.cleaner.dims()
    run.step("dims")
    run.cleaner.events()
    accounting = run.cleaner.accounting(list(run.raw.tables))
    # every raw row is classified exactly once: the classes add up to the rows read
    rows_read = {
        name: accounting.kept[name]
        + sum(accounting.quarantined[name].values())
        + accounting.duplicates.get(name, 0)
        for name in run.raw.tables
    }
    new_days = run.cleaner.new_days()
    parent_days = run.parent.days if run.parent is not None else []
    kept_days = [d for d in parent_days if d not in set(new_days)]
    check_parent_settings(run.parent, settings, kept_days)
    run.step("events")
    qualified, attributed = run.cleaner.attribute(new_days)
    no_profile = run.cleaner.without_profile()
    run.cleaner.facts()
    run.step("attribute")
    how = plan(run.parent, new_days, run.moved_assets())
    with run.wh.stage() as staging:
        written = run.write_rollups(staging)
        run.step("rollups")
        run.write_events(staging)
        run.write_dims(staging)
        run.link_parent_days(staging, new_days)
        run.step("events out")
        view = staging.version_view()
        builder = AlltimeBuilder(run.spark, settings.lg_k)
        assets, titles = builder.build(view, run.parent, how, facts_sql())
        write_table(assets, view.alltime_path("assets"), ALLTIME_ASSETS, settings.lg_k)
        write_table(titles, view.alltime_path("titles"), ALLTIME_TITLES, settings.lg_k)
        shutil.rmtree(staging.root / "_spark", ignore_errors=True)
        run.step("all-time")
        quarantine = run.write_quarantine(accounting.quarantined)
        report = IngestReport(
            run_id=run.run_id,
            engine="spark",
            rows_read=rows_read,
            kept=accounting.kept,
            quarantined=accounting.quarantined,
            duplicates=accounting.duplicates,
            events_without_profile=no_profile,
            qualified_plays=qualified,
            attributed_plays=attributed,
            unattributed_plays=qualified - attributed,
            rollup_rows=written,
            days=[d.isoformat() for d in new_days],
            parent_version=run.parent.name if run.parent is not None else None,
            elapsed_s=round(time.perf_counter() - started, 3),
            quarantine_dir=str(quarantine) if quarantine is not None else None,
            extra={
                "spark_version": run.spark.version,
                "master": master,
                "alltime": {
                    "mode": how.mode,
                    "reason": how.reason,
                    "replaced_days": [d.isoformat() for d in how.replaced_days],
                    "daily_files_read": builder.daily_files_read,
                },
                "steps_s": dict(run.timings),
            },
        )
        manifest = {
            "run_id": run.run_id,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "parent": report.parent_version,
            "days": sorted({*(d.isoformat() for d in kept_days), *report.days}),
            "etl": {"engine": "spark", **{f: getattr(settings, f) for f in _SETTINGS}},
            "rollups": _rollup_totals(view),
            "report": report.to_dict(),
        }
        version = staging.commit(manifest)
        run.step("commit")
    return version, report.with_updates(warehouse_version=version.name)


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
    progress: bool = False,
    publish_snapshot: bool = True,
) -> IngestReport:
    """Ingest a raw directory into a warehouse on Spark as a new version; returns the
    report. A schema problem raises ContractError before Spark starts or anything is
    written; the previous version stays current when anything fails."""
    started = time.perf_counter()
    raw_input = contract.validate(raw)
    wh = Warehouse(warehouse)
    with _progress(progress) as bar, spark_session(master) as spark:
        run = _SparkRun(spark, raw_input, wh, settings, bar)
        run.timings["session"] = round(time.perf_counter() - started, 3)
        _step(bar, "session")
        try:
            version, report = _build(run, started, master)
        except KeyartError:
            raise
        except Exception as exc:  # Spark's Py4J/analysis errors: the run failed
            raise IngestError(f"spark ingest of {raw} failed: {_summary(exc)}") from exc
        finally:
            run.cleaner.release()
    snapshot = None
    if publish_snapshot:
        from keyart.store.producer import SnapshotProducer

        snapshot = SnapshotProducer(wh.snapshots_dir).publish(version)
    return report.with_updates(
        snapshot_version=snapshot, elapsed_s=round(time.perf_counter() - started, 3)
    )


__all__ = ["check_parent_settings", "ingest_spark"]
