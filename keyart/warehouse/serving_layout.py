"""The serving layout an ingest writes into its own version, so that the API serves a new
version at interactive latency as soon as it is published.

    WH/versions/<name>/serving/embedded.l1.duckdb

One DuckDB database holding the embedded backend's serving tables (every rollup, and the
rollups merged over countries: see EmbeddedBackend.tables/merged) as a sequence of
*blocks*: each block holds a run of consecutive days (up to BLOCK_ROWS rollup rows), its
rows sorted by (title_id, asset_id, day), in small row groups. DuckDB keeps min/max
statistics per row group, so a question about a few titles or assets reads, per block, the
few row groups holding them and skips the rest; a first ingest of 180 days writes a handful
of blocks, so a title's rows over the whole history sit in a handful of places.

Why blocks and not one sort of every row (the server-built copy's order): an ingest
produces its rows a day at a time, and sorting a block costs that block's rows only, in
memory, while the ingest goes on; one global sort is what took minutes. A daily ingest
starts from a copy of its parent's layout (a version never shares it: it is immutable once
published), deletes the days it rebuilds and appends them as a new block; a version without
a parent layout (the first ingest, or a parent written by the Spark engine) loads its kept
days from the parent's day files.

The file is written into the staging folder beside the day files and published with them
by `Staging.commit` (listed in the manifest's file table with its checksum), so a run
killed at any point leaves the previous version, and its layout, served. Servers look for
it first (published_layout) and fall back to building their own serving copy when a
version has none (versions written by the Spark engine or before this layout existed).
"""

from __future__ import annotations

from pathlib import Path

from keyart.warehouse.layout import Version

FOLDER = "serving"
# bump when the layout changes, so that servers stop reading older files
LAYOUT_FORMAT = 1
SUFFIX = f".l{LAYOUT_FORMAT}.duckdb"
# rows per DuckDB row group (its unit of min/max skipping; DuckDB's default is 122,880):
# small enough that a title's rows in a block fill one or a few
ROW_GROUP_ROWS = 16_384
BLOCK_KEY = ("title_id", "asset_id", "day")  # the order of rows within a block
# rollup rows per block at most: bounds the writer's memory (the block is sorted at once)
BLOCK_ROWS = 8_000_000
INFO_TABLE = "_layout_info"  # key/value: format, sketch storage, run that wrote it, order


def layout_path(version_root: Path, label: str) -> Path:
    """Where a version folder holds the serving layout of backend `label`."""
    return version_root / FOLDER / f"{label}{SUFFIX}"


def published_layout(version: Version, label: str) -> Path | None:
    """The serving layout the ETL published with a version, or None when it has none."""
    path = layout_path(version.root, label)
    return path if path.is_file() else None


__all__ = [
    "BLOCK_KEY",
    "BLOCK_ROWS",
    "FOLDER",
    "INFO_TABLE",
    "LAYOUT_FORMAT",
    "ROW_GROUP_ROWS",
    "layout_path",
    "published_layout",
]
