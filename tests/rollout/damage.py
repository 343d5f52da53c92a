"""A damaged copy of the session's tiny warehouse: one day's rollups dropped, its event
tables (the legacy stack's input) intact — the planted difference every rollout tool must
find on that day, and only there."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from keyart.warehouse.layout import Warehouse, day_partition
from keyart.warehouse.tables import ROLLUPS


@dataclass(frozen=True)
class Damaged:
    """The copy and the day whose rollups were dropped."""

    warehouse: Path
    day: date


def damage_copy(source: Path, target: Path) -> Damaged:
    """Copy `source` (no serving copies or layouts, no state) and drop one mid-window
    day's rollups."""
    shutil.copytree(
        source,
        target,
        ignore=shutil.ignore_patterns("cache", "serving", "state.sqlite3*", "*.lock"),
    )
    version = Warehouse(target).current()
    day = version.days[len(version.days) // 2]
    for rollup in ROLLUPS:
        shutil.rmtree(version.rollup_dir(rollup) / day_partition(day))
    return Damaged(target, day)
