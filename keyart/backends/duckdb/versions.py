"""Opens a warehouse's versions (the current one, or one by name) and finds the
day-partition files a query reads."""

from __future__ import annotations

import os
import threading
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from keyart.errors import BackendUnavailable, WarehouseError
from keyart.query.ir import Interval
from keyart.warehouse.layout import CURRENT, Version, Warehouse

_PARTITION_PREFIX = "day="
KEEP_VIEWS = 4  # versions kept open by name (snapshots being served during a swap)


class PartitionIndex:
    """The Parquet files of one day-partitioned table of a version, by day (listed once)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._by_day: dict[date, list[str]] | None = None
        self._lock = threading.Lock()

    def _load(self) -> dict[date, list[str]]:
        by_day: dict[date, list[str]] = {}
        if not self.folder.is_dir():
            return by_day
        for entry in os.scandir(self.folder):
            if not (entry.is_dir() and entry.name.startswith(_PARTITION_PREFIX)):
                continue
            try:
                day = date.fromisoformat(entry.name[len(_PARTITION_PREFIX) :])
            except ValueError as exc:
                raise WarehouseError(f"unexpected partition folder {entry.path}") from exc
            files = sorted(f.path for f in os.scandir(entry.path) if f.name.endswith(".parquet"))
            if files:
                by_day[day] = files
        return by_day

    def files(self, interval: Interval) -> list[str]:
        """Every file holding a day inside the interval, in day order."""
        with self._lock:
            if self._by_day is None:
                self._by_day = self._load()
            by_day = self._by_day
        return [
            f
            for day in sorted(by_day)
            if interval.start <= day <= interval.end
            for f in by_day[day]
        ]


class VersionView:
    """One warehouse version with lazily built partition indexes of its tables."""

    def __init__(self, version: Version) -> None:
        self.version = version
        self._indexes: dict[str, PartitionIndex] = {}
        self._asset_titles: dict[str, str] | None = None
        self._lock = threading.Lock()

    def asset_titles(self) -> dict[str, str]:
        """asset_id -> title_id from the version's asset dimension (read once; empty when
        the version has none)."""
        with self._lock:
            if self._asset_titles is None:
                path = self.version.dim_path("assets")
                mapping: dict[str, str] = {}
                if path.exists():
                    try:
                        table = pq.read_table(path, columns=["asset_id", "title_id"])
                    except (OSError, pa.ArrowException) as exc:
                        raise WarehouseError(f"asset dimension {path} is unreadable") from exc
                    mapping = dict(
                        zip(
                            table.column("asset_id").to_pylist(),
                            table.column("title_id").to_pylist(),
                            strict=True,
                        )
                    )
                self._asset_titles = mapping
            return self._asset_titles

    def index(self, relative: str) -> PartitionIndex:
        """The partition index of a table folder relative to the version root."""
        with self._lock:
            index = self._indexes.get(relative)
            if index is None:
                index = PartitionIndex(self.version.root / relative)
                self._indexes[relative] = index
            return index

    def rollup_files(self, rollup: str, interval: Interval) -> list[str]:
        """Files of a rollup's days inside the interval."""
        return self.index(f"rollups/{rollup}").files(interval)

    def event_files(self, table: str, interval: Interval) -> list[str]:
        """Files of an event table's (`impressions`, `plays`) days inside the interval."""
        return self.index(f"events/{table}").files(interval)


class CurrentVersion:
    """The warehouse's current version, re-read when the CURRENT pointer file changes."""

    def __init__(self, warehouse: Path | str | Warehouse) -> None:
        self.warehouse = warehouse if isinstance(warehouse, Warehouse) else Warehouse(warehouse)
        self._signature: tuple[int, int, int] | None = None
        self._view: VersionView | None = None
        self._named: dict[str, VersionView] = {}  # views asked for by name, oldest first
        self._lock = threading.Lock()

    def _pointer_signature(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.warehouse.root / CURRENT)
        except FileNotFoundError:
            return None
        # CURRENT is replaced atomically (new inode), so this changes with every publish
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def get(self) -> VersionView:
        """The current version (one stat per call; re-opened only when CURRENT moved)."""
        signature = self._pointer_signature()
        with self._lock:
            if self._view is not None and signature == self._signature:
                return self._view
        return self.refresh()

    def named(self, name: str) -> VersionView:
        """The view of version `name` (the served snapshot's), kept for the next requests;
        BackendUnavailable when that version is gone or unreadable."""
        with self._lock:
            view = self._named.get(name)
            if view is None and self._view is not None and self._view.version.name == name:
                view = self._view
        if view is not None:
            return view
        try:
            version = self.warehouse.open(name)
        except WarehouseError as exc:
            raise BackendUnavailable(
                f"warehouse version {name} of the served snapshot is unreadable: {exc}"
            ) from exc
        with self._lock:
            view = self._named.setdefault(name, VersionView(version))
            while len(self._named) > KEEP_VIEWS:
                self._named.pop(next(iter(self._named)))
            return view

    def refresh(self) -> VersionView:
        """Re-read CURRENT now; BackendUnavailable when the warehouse has no version."""
        signature = self._pointer_signature()
        try:
            version = self.warehouse.current()
        except WarehouseError as exc:
            raise BackendUnavailable(str(exc)) from exc
        with self._lock:
            if self._view is None or self._view.version.name != version.name:
                self._view = VersionView(version)
            self._signature = signature
            return self._view


__all__ = ["CurrentVersion", "PartitionIndex", "VersionView"]
