"""`keyart publish`: make the announced snapshot describe the warehouse's current version.

A process that dies between committing a version and publishing its snapshot leaves the
snapshot one version behind (the API keeps answering consistently from the snapshot's own
warehouse version, just not the newest). Publishing again is idempotent: nothing happens
when the announced snapshot already describes the current version.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from keyart.errors import SnapshotError, WarehouseError
from keyart.etl.runs import writing
from keyart.store import files
from keyart.warehouse import integrity
from keyart.warehouse.layout import Version, Warehouse


def announced_warehouse_version(blob_dir: Path) -> str | None:
    """The warehouse version the announced snapshot describes; None without a readable one."""
    with contextlib.suppress(SnapshotError):
        return files.read_announcement(blob_dir).warehouse_version
    return None


def verify_version(version: Version, *, checksums: bool = False) -> None:
    """Refuse a version whose files do not match its manifest's file table."""
    table = version.manifest.get(integrity.FILES)
    if table is None:
        return  # written before file tables: nothing to compare with
    problems = integrity.check_files(version.root, table, checksums=checksums)
    if problems:
        more = f"; … {len(problems) - 5} more" if len(problems) > 5 else ""
        raise WarehouseError(
            f"warehouse version {version.name} is damaged: {'; '.join(problems[:5])}{more}"
        )


def ensure_published(warehouse: Warehouse, blob_dir: Path | None = None) -> str | None:
    """Publish a snapshot of the current version unless the announced one describes it
    (call holding the writer lock); the new snapshot version, or None when none was due."""
    from keyart.store.producer import SnapshotProducer

    version = warehouse.current()
    target = blob_dir if blob_dir is not None else warehouse.snapshots_dir
    if announced_warehouse_version(target) == version.name:
        return None
    verify_version(version)
    return SnapshotProducer(target).publish(version)


def publish_current(
    warehouse: Path, *, wait_s: float, blob_dir: Path | None = None, checksums: bool = False
) -> tuple[str, str | None]:
    """Under the writer lock: verify the current version and publish its snapshot when
    due; (warehouse version, new snapshot version or None)."""
    wh = Warehouse(warehouse)
    with writing(wh, wait_s, purpose="publish"):
        version = wh.current()
        verify_version(version, checksums=checksums)
        return version.name, ensure_published(wh, blob_dir)


__all__ = [
    "announced_warehouse_version",
    "ensure_published",
    "publish_current",
    "verify_version",
]
