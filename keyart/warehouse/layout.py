"""Where warehouse files live and how a new version is published atomically.

    WH/CURRENT                       name of the current version (replaced with os.replace)
    WH/versions/<name>/manifest.json what the version holds (days, lg_k, settings, report)
    WH/versions/<name>/dims/         titles.parquet, assets.parquet
    WH/versions/<name>/rollups/<rollup>/day=YYYY-MM-DD/part.parquet
    WH/versions/<name>/alltime/      assets.parquet, titles.parquet
    WH/versions/<name>/events/{impressions,plays}/day=YYYY-MM-DD/part.parquet
    WH/quarantine/<run>/<table>.parquet   rows that could not be used, with their reason
    WH/snapshots/                    the snapshot store's blob directory

A version is built in a staging directory and renamed into place before CURRENT moves, so
a process killed at any point leaves the previous version current and complete. Unchanged
day partitions are hard-linked from the parent version rather than copied.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from keyart.errors import WarehouseError
from keyart.warehouse import integrity
from keyart.warehouse.lock import DEFAULT_WAIT_S, WriterLock
from keyart.warehouse.tables import Rollup

CURRENT = "CURRENT"
MANIFEST = "manifest.json"
_STAGING_PREFIX = ".staging-"


def day_partition(day: date) -> str:
    """The Hive-style folder name of one day's partition."""
    return f"day={day.isoformat()}"


@dataclass(frozen=True, slots=True)
class Version:
    """One published, immutable warehouse version."""

    root: Path
    name: str
    manifest: dict[str, Any]

    @property
    def lg_k(self) -> int:
        """Sketch precision the version was built with."""
        return int(self.manifest["etl"]["lg_k"])

    @property
    def days(self) -> list[date]:
        """Every day with data in this version, ascending."""
        return [date.fromisoformat(d) for d in self.manifest.get("days", [])]

    def dim_path(self, name: str) -> Path:
        """Path of a dimension table (`titles` or `assets`)."""
        return self.root / "dims" / f"{name}.parquet"

    def alltime_path(self, name: str) -> Path:
        """Path of an all-time aggregate table (`assets` or `titles`)."""
        return self.root / "alltime" / f"{name}.parquet"

    def rollup_dir(self, rollup: Rollup | str) -> Path:
        """Folder holding one rollup's day partitions."""
        return self.root / "rollups" / (rollup if isinstance(rollup, str) else rollup.name)

    def rollup_glob(self, rollup: Rollup | str) -> str:
        """A glob matching every Parquet file of one rollup (for DuckDB read_parquet)."""
        return str(self.rollup_dir(rollup) / "day=*" / "*.parquet")

    def events_dir(self, name: str) -> Path:
        """Folder holding the clean event table `impressions` or `plays`, by day."""
        return self.root / "events" / name

    def events_glob(self, name: str) -> str:
        """A glob matching every Parquet file of one event table."""
        return str(self.events_dir(name) / "day=*" / "*.parquet")


class Warehouse:
    """A warehouse directory: reads the current version, stages and publishes new ones."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    @property
    def versions_dir(self) -> Path:
        """Folder of all published versions."""
        return self.root / "versions"

    @property
    def quarantine_dir(self) -> Path:
        """Folder of quarantined rows, one sub-folder per ingest run."""
        return self.root / "quarantine"

    @property
    def snapshots_dir(self) -> Path:
        """Default blob directory of the snapshot store."""
        return self.root / "snapshots"

    def current_or_none(self) -> Version | None:
        """The current version, or None for an empty warehouse."""
        pointer = self.root / CURRENT
        if not pointer.exists():
            return None
        return self.open(pointer.read_text().strip())

    def current(self) -> Version:
        """The current version; WarehouseError when nothing was ingested yet."""
        version = self.current_or_none()
        if version is None:
            raise WarehouseError(
                f"no warehouse at {self.root}: run `keyart ingest --raw DIR --warehouse "
                f"{self.root}` first"
            )
        return version

    def open(self, name: str) -> Version:
        """A published version by name."""
        root = self.versions_dir / name
        try:
            manifest = json.loads((root / MANIFEST).read_text())
        except (OSError, ValueError) as exc:
            raise WarehouseError(f"warehouse version {name} at {root} is unreadable") from exc
        return Version(root, name, manifest)

    def writer(
        self,
        *,
        wait_s: float = DEFAULT_WAIT_S,
        notify: Callable[[str], None] | None = None,
        purpose: str = "ingest",
    ) -> WriterLock:
        """The warehouse's single-writer lock (not taken yet: use it as a context manager)."""
        return WriterLock(self.root, wait_s=wait_s, notify=notify, purpose=purpose)

    def stage(self, writer: WriterLock | None = None) -> Staging:
        """A staging area for a new version; use as a context manager and call commit().
        Holding the writer lock (`writer`), staging folders of earlier runs are removed:
        their runs are dead, since a live run would hold the lock."""
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        if writer is not None and writer.held:
            self._remove_stale_staging()
        return Staging(self, self.versions_dir / f"{_STAGING_PREFIX}{uuid.uuid4().hex}")

    def prune(self, keep: int = 3) -> None:
        """Delete all but the newest `keep` versions (never the current one)."""
        current = self.current_or_none()
        names = sorted(p.name for p in self.versions_dir.iterdir() if p.name.startswith("v"))
        for name in names[:-keep] if keep > 0 else names:
            if current is None or name != current.name:
                shutil.rmtree(self.versions_dir / name, ignore_errors=True)

    def _remove_stale_staging(self) -> None:
        # left behind by a killed run (only called under the writer lock); never current
        for path in self.versions_dir.glob(f"{_STAGING_PREFIX}*"):
            shutil.rmtree(path, ignore_errors=True)

    def _next_name(self) -> str:
        existing = [p.name for p in self.versions_dir.iterdir() if p.name.startswith("v")]
        seq = 1 + max((int(n[1:7]) for n in existing), default=0)
        return f"v{seq:06d}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"


class Staging:
    """A version under construction; invisible to readers until commit()."""

    def __init__(self, warehouse: Warehouse, root: Path) -> None:
        self.warehouse = warehouse
        self.root = root
        self.root.mkdir(parents=True)
        # [size, sha256] of files hashed as they were written (relative path -> entry)
        self._checksums: dict[str, list[Any]] = {}

    def record_checksum(self, path: Path) -> None:
        """Hash a file just written into staging, so that commit need not read it again
        (thread-safe: writer threads call it; replace the file and it is hashed anew)."""
        digest = integrity.sha256_file(path)
        self._checksums[str(path.relative_to(self.root))] = [path.stat().st_size, digest]

    def version_view(self, manifest: dict[str, Any] | None = None) -> Version:
        """A Version over the staging folder (paths only) for writers."""
        return Version(self.root, self.root.name, manifest or {})

    def link_from(self, parent: Version, relative: str) -> None:
        """Hard-link (copy where links fail) one file or folder of the parent version.

        Linked files are shared with the parent: replace them, never write into them.
        """
        src, dst = parent.root / relative, self.root / relative
        if src.is_dir():
            shutil.copytree(src, dst, copy_function=_link_or_copy, dirs_exist_ok=True)
        elif src.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(str(src), str(dst))

    def commit(
        self,
        manifest: dict[str, Any],
        *,
        parent: Version | None = None,
        kept: Sequence[str] = (),
        check_current: bool = False,
    ) -> Version:
        """Write the manifest (with the version's file table), move the version into place
        and make it current atomically.

        Refuses (WarehouseError, nothing published) when a kept day of `parent` lost a file
        or changed its bytes, or, with `check_current`, when CURRENT no longer names
        `parent` (another writer committed meanwhile: this run's view is out of date).
        """
        name = self.warehouse._next_name()
        if check_current:
            now = self.warehouse.current_or_none()
            now_name = None if now is None else now.name
            expected = None if parent is None else parent.name
            if now_name != expected:
                raise WarehouseError(
                    f"refusing to commit: the warehouse moved from {expected} to {now_name} "
                    "during this run (another writer without the writer lock?); run again"
                )
        parent_table = None if parent is None else parent.manifest.get(integrity.FILES)
        if parent is not None and parent_table is None and kept:
            # a parent written before file tables: its files as they are now
            parent_table = integrity.file_table(parent.root, None, None)
        table = integrity.file_table(
            self.root, None if parent is None else parent.root, parent_table, self._checksums
        )
        integrity.check_commit(
            name,
            manifest.get("days", []),
            table,
            kept,
            parent_table,
            None if parent is None else parent.name,
        )
        manifest = {**manifest, "version": name, integrity.FILES: table}
        _write_atomic(self.root / MANIFEST, json.dumps(manifest, indent=2, default=str))
        final = self.warehouse.versions_dir / name
        os.replace(self.root, final)
        _write_atomic(self.warehouse.root / CURRENT, name + "\n")
        return Version(final, name, manifest)

    def abort(self) -> None:
        """Throw the staging folder away."""
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Staging:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.root.exists() and self.root.name.startswith(_STAGING_PREFIX):
            self.abort()


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file, fsync and rename, so readers see old or new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


__all__ = ["CURRENT", "MANIFEST", "Staging", "Version", "Warehouse", "day_partition"]
