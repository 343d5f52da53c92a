"""Ingest quality gates: anomalies that stop a run before it writes anything.

Checked after a run has classified and attributed its events and before it stages a
version or writes its quarantine, so a refused run leaves the warehouse and the snapshot
store exactly as they were. `--accept-anomalies` publishes anyway and lists what was
found in the report.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import pyarrow.parquet as pq

from keyart.config import GateSettings
from keyart.errors import QualityGateError
from keyart.warehouse.layout import Version

MIN_RUN_DAYS_FOR_MEDIAN = 3  # a run's own median day is a baseline only from this many days


@dataclass(frozen=True, slots=True)
class Baseline:
    """What a day's volume is compared with, and where that number comes from."""

    impressions: float
    source: str


def parent_day_volumes(parent: Version | None) -> dict[date, int]:
    """Kept impressions per day of the parent version (from its Parquet footers)."""
    if parent is None:
        return {}
    volumes: dict[date, int] = {}
    folder = parent.events_dir("impressions")
    for day in parent.days:
        files = sorted((folder / f"day={day.isoformat()}").glob("*.parquet"))
        volumes[day] = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    return volumes


def baseline(day: date, parent: Mapping[date, int], run: Mapping[date, int]) -> Baseline | None:
    """The baseline of one of the run's days (see GateSettings.min_day_volume_ratio)."""
    if day in parent:
        return Baseline(parent[day], "the previous version's same day")
    if parent:
        return Baseline(statistics.median(parent.values()), "the previous version's median day")
    if len(run) >= MIN_RUN_DAYS_FOR_MEDIAN:
        return Baseline(statistics.median(run.values()), "this run's median day")
    return None


def anomalies(
    gates: GateSettings,
    kept: Mapping[str, int],
    without_profile: Mapping[str, int],
    day_volumes: Mapping[date, int],
    parent: Version | None,
) -> list[str]:
    """What passes a gate's threshold in one run, as sentences (empty when nothing does)."""
    found: list[str] = []
    events = kept.get("impressions", 0) + kept.get("playbacks", 0)
    orphans = without_profile.get("impressions", 0) + without_profile.get("playbacks", 0)
    if events and orphans / events > gates.max_without_profile_share:
        found.append(
            f"{orphans / events:.1%} of kept events ({orphans:,} of {events:,}) have no member "
            f"profile; the limit is {gates.max_without_profile_share:.0%} "
            "(--max-without-profile-share)"
        )
    before = parent_day_volumes(parent)
    for day in sorted(day_volumes):
        base = baseline(day, before, day_volumes)
        if base is None or base.impressions <= 0:
            continue
        ratio = day_volumes[day] / base.impressions
        if ratio < gates.min_day_volume_ratio:
            found.append(
                f"day {day} has {day_volumes[day]:,} impressions, {ratio:.0%} of "
                f"{base.source} ({base.impressions:,.0f}); the limit is "
                f"{gates.min_day_volume_ratio:.0%} (--min-day-volume-ratio)"
            )
    return found


def check(
    gates: GateSettings,
    kept: Mapping[str, int],
    without_profile: Mapping[str, int],
    day_volumes: Mapping[date, int],
    parent: Version | None,
) -> list[str]:
    """The anomalies of a run; QualityGateError when there are any and they are not
    accepted (nothing has been written at this point)."""
    found = anomalies(gates, kept, without_profile, day_volumes, parent)
    if found and not gates.accept_anomalies:
        raise QualityGateError(
            "quality gate refused the run, nothing was written: "
            + "; ".join(found)
            + ". Check the raw data, or pass --accept-anomalies to publish anyway"
        )
    return found


__all__ = ["Baseline", "anomalies", "baseline", "check", "parent_day_volumes"]
