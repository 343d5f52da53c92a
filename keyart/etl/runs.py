"""What both ingest engines share around one run: its id and progress bar, the parent
version's kept days (settings check, hard links, attribution look-back), the report and the
manifest a staged version is committed with.

The engines differ in how they compute (DuckDB + numpy, or Spark); everything here is about
what a run reads from and writes into the warehouse, so it exists once.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pyarrow.parquet as pq
from tqdm import tqdm

from keyart.config import EtlSettings, GateSettings
from keyart.errors import IngestError
from keyart.etl.gates import check as check_gates
from keyart.etl.report import IngestReport
from keyart.warehouse.layout import Staging, Version, Warehouse, day_partition
from keyart.warehouse.lock import WriterLock
from keyart.warehouse.tables import ROLLUPS

# The settings that define the metrics: kept days must have been built with the same ones.
SETTING_FIELDS = ("lg_k", "qualify_seconds", "engaged_seconds", "attribution_hours")
EVENT_TABLES = ("impressions", "plays")  # the clean event tables of a version
CONFLICT_EXAMPLES = 10  # conflicting keys named in a report, per table


def new_run_id() -> str:
    """A sortable, unique id of one ingest run (also its quarantine folder's name)."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


@contextmanager
def progress_bar(enabled: bool, steps: int, desc: str) -> Iterator[tqdm[Any] | None]:
    """A tqdm bar of `steps` steps, or None when progress is off."""
    if not enabled:
        yield None
        return
    bar = tqdm(total=steps, unit="step", desc=desc)
    try:
        yield bar
    finally:
        bar.close()


class StepTimer:
    """Times a run's steps (seconds since the previous step) and advances its progress bar."""

    def __init__(self, bar: tqdm[Any] | None, desc: str, started: float | None = None) -> None:
        self.bar = bar
        self.desc = desc
        self.timings: dict[str, float] = {}
        self._mark = time.perf_counter() if started is None else started

    def lap(self, step: str) -> None:
        """Record `step` as done now."""
        now = time.perf_counter()
        self.timings[step] = round(now - self._mark, 3)
        self._mark = now
        self.tick(step)

    def tick(self, step: str) -> None:
        """Advance the progress bar past `step` without timing it."""
        if self.bar is not None:
            self.bar.set_description(f"{self.desc}: {step}")
            self.bar.update(1)


@dataclass(frozen=True, slots=True)
class Conflicts:
    """Dimension keys delivered more than once with different content: how many, and the
    first few in key order."""

    keys: int
    examples: list[str]


@dataclass(frozen=True, slots=True)
class Accounting:
    """Where every raw row went: kept, quarantined by reason, dropped as a duplicate."""

    kept: dict[str, int]
    quarantined: dict[str, dict[str, int]]
    duplicates: dict[str, int]
    # dimension keys repeated with different content (the last delivered row was kept)
    conflicts: dict[str, Conflicts] = dataclasses.field(default_factory=dict)

    @property
    def rows_read(self) -> dict[str, int]:
        """Rows read per raw table: each row is kept, quarantined or a duplicate."""
        return {
            name: kept + sum(self.quarantined[name].values()) + self.duplicates.get(name, 0)
            for name, kept in self.kept.items()
        }


@dataclass(frozen=True, slots=True)
class Attribution:
    """Qualified and attributed plays, and kept events whose member has no profile."""

    qualified: int
    attributed: int
    without_profile: dict[str, int]


@dataclass(frozen=True, slots=True)
class RunCounts:
    """What a run counted and wrote: its raw rows, plays, rollup rows and days."""

    accounting: Accounting
    attribution: Attribution
    rollup_rows: dict[str, int]
    new_days: list[date]
    kept_days: list[date]


def kept_days(parent: Version | None, new_days: list[date]) -> list[date]:
    """The parent's days this run does not rebuild (they are carried over)."""
    if parent is None:
        return []
    rebuilt = set(new_days)
    return [d for d in parent.days if d not in rebuilt]


def check_parent_settings(parent: Version | None, settings: EtlSettings, kept: list[date]) -> None:
    """Refuse to mix metric definitions: kept parent days must share this run's settings."""
    if parent is None or not kept:
        return
    before = parent.manifest.get("etl", {})
    for field in SETTING_FIELDS:
        now = getattr(settings, field)
        if field in before and int(before[field]) != now:
            raise IngestError(
                f"{field}={now} differs from {before[field]} used by warehouse version "
                f"{parent.name}, whose days {kept[0]}..{kept[-1]} would be kept: re-ingest "
                f"every day with the new settings into a fresh warehouse, or keep "
                f"{field}={before[field]}"
            )


def link_parent_days(staging: Staging, parent: Version | None, kept: list[date]) -> None:
    """Hard-link the kept days' rollups and event tables from the parent into staging."""
    if parent is None:
        return
    for d in kept:
        part = day_partition(d)
        for rollup in ROLLUPS:
            staging.link_from(parent, f"rollups/{rollup.name}/{part}")
        for name in EVENT_TABLES:
            staging.link_from(parent, f"events/{name}/{part}")


def lookback_files(
    parent: Version | None, settings: EtlSettings, new_days: list[date]
) -> list[Path]:
    """Parent impressions of untouched days that a new day's plays may be attributed to."""
    if parent is None or not new_days:
        return []
    reach = math.ceil(settings.attribution_hours / 24)
    wanted = {d - timedelta(days=k) for d in new_days for k in range(1, reach + 1)}
    keep = (wanted & set(parent.days)) - set(new_days)
    files: list[Path] = []
    for d in sorted(keep):
        files.extend(
            sorted((parent.events_dir("impressions") / day_partition(d)).glob("*.parquet"))
        )
    return files


def rollup_totals(version: Version) -> dict[str, int]:
    """Rows per rollup over every day of a version (from the Parquet footers)."""
    return {
        r.name: sum(
            pq.ParquetFile(f).metadata.num_rows
            for f in version.rollup_dir(r).glob("day=*/*.parquet")
        )
        for r in ROLLUPS
    }


class IngestRun(ABC):
    """The state every ingest run has, whichever engine computes it: its id, warehouse,
    parent version, settings and step timer; it reports and commits the staged version."""

    engine: ClassVar[str]  # the engine's name in reports and manifests

    def __init__(
        self,
        warehouse: Warehouse,
        settings: EtlSettings,
        bar: tqdm[Any] | None,
        desc: str,
        started: float | None = None,
        writer: WriterLock | None = None,
    ) -> None:
        self.wh = warehouse
        self.settings = settings
        # the parent is read under the writer lock: no other run can commit until this ends
        self.writer = writer
        self.parent = warehouse.current_or_none()
        self.run_id = new_run_id()
        self.steps = StepTimer(bar, desc, started)
        self.accepted: list[str] = []  # anomalies published anyway (--accept-anomalies)

    def write_quarantine(self, quarantined: dict[str, dict[str, int]]) -> Path | None:
        """Write each raw table's quarantined rows (contract columns and `reason`) into this
        run's quarantine folder; the folder, or None when nothing was quarantined."""
        folder = self.wh.quarantine_dir / self.run_id
        tables = [name for name, by_reason in quarantined.items() if sum(by_reason.values())]
        for name in tables:
            folder.mkdir(parents=True, exist_ok=True)
            self.write_quarantined(name, folder / f"{name}.parquet")
        return folder if tables else None

    @abstractmethod
    def write_quarantined(self, table: str, path: Path) -> None:
        """Write the quarantined rows of one raw table to `path` (engine-specific)."""

    def check_gates(
        self,
        gates: GateSettings,
        accounting: Accounting,
        attribution: Attribution,
        day_volumes: dict[date, int],
    ) -> None:
        """Apply the quality gates before anything is written (QualityGateError); accepted
        anomalies are kept for the report."""
        self.accepted = check_gates(
            gates, accounting.kept, attribution.without_profile, day_volumes, self.parent
        )

    def kept_days(self, new_days: list[date]) -> list[date]:
        """The parent's days this run does not rebuild, checked to share its settings."""
        kept = kept_days(self.parent, new_days)
        check_parent_settings(self.parent, self.settings, kept)
        return kept

    def commit(
        self,
        staging: Staging,
        counts: RunCounts,
        started: float,
        quarantine: Path | None,
        extra: dict[str, Any],
        before: Callable[[], None] | None = None,
    ) -> tuple[Version, IngestReport]:
        """Commit the staged version with its manifest (calling `before` first, if given);
        returns the version and the run's report naming it."""
        report = IngestReport(
            run_id=self.run_id,
            engine=self.engine,
            rows_read=counts.accounting.rows_read,
            kept=counts.accounting.kept,
            quarantined=counts.accounting.quarantined,
            duplicates=counts.accounting.duplicates,
            conflicts={
                table: {"keys": found.keys, "examples": found.examples}
                for table, found in counts.accounting.conflicts.items()
            },
            events_without_profile=counts.attribution.without_profile,
            qualified_plays=counts.attribution.qualified,
            attributed_plays=counts.attribution.attributed,
            unattributed_plays=counts.attribution.qualified - counts.attribution.attributed,
            rollup_rows=counts.rollup_rows,
            days=[d.isoformat() for d in counts.new_days],
            parent_version=self.parent.name if self.parent is not None else None,
            elapsed_s=round(time.perf_counter() - started, 3),
            quarantine_dir=str(quarantine) if quarantine is not None else None,
            extra=extra,
            accepted_anomalies=list(self.accepted),
        )
        manifest = {
            "run_id": self.run_id,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "parent": report.parent_version,
            "days": sorted({*(d.isoformat() for d in counts.kept_days), *report.days}),
            "etl": {
                "engine": self.engine,
                **{f: getattr(self.settings, f) for f in SETTING_FIELDS},
            },
            "rollups": rollup_totals(staging.version_view()),
            "report": report.to_dict(),
        }
        if before is not None:
            before()
        version = staging.commit(
            manifest,
            parent=self.parent,
            kept=[d.isoformat() for d in counts.kept_days],
            check_current=True,
        )
        return version, report.with_updates(warehouse_version=version.name)


def say(message: str) -> None:
    """Tell the operator something while a run goes on (stderr, beside the progress bar)."""
    print(f"keyart: {message}", file=sys.stderr, flush=True)


@contextmanager
def writing(warehouse: Warehouse, wait_s: float, purpose: str = "ingest") -> Iterator[WriterLock]:
    """Hold the warehouse's writer lock for a whole run (waiting up to `wait_s` seconds,
    saying whom for); WarehouseBusy when it stays taken."""
    with warehouse.writer(wait_s=wait_s, notify=say, purpose=purpose) as lock:
        yield lock


def publish(
    warehouse: Warehouse, version: Version, report: IngestReport, started: float, snapshot: bool
) -> IngestReport:
    """The run's final report: the committed version's snapshot published when `snapshot`
    is set, and the whole run's elapsed time."""
    published = None
    if snapshot:
        from keyart.store.producer import SnapshotProducer

        published = SnapshotProducer(warehouse.snapshots_dir).publish(version)
    return report.with_updates(
        snapshot_version=published, elapsed_s=round(time.perf_counter() - started, 3)
    )


__all__ = [
    "CONFLICT_EXAMPLES",
    "EVENT_TABLES",
    "SETTING_FIELDS",
    "Accounting",
    "Attribution",
    "Conflicts",
    "IngestRun",
    "RunCounts",
    "StepTimer",
    "check_parent_settings",
    "kept_days",
    "link_parent_days",
    "lookback_files",
    "new_run_id",
    "progress_bar",
    "publish",
    "rollup_totals",
    "say",
    "writing",
]
