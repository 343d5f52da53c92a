"""The serving layout an ingest writes into its own version, so that the API serves a new
version at interactive latency as soon as it is published.

    WH/versions/<name>/serving/embedded.l1.duckdb

One DuckDB database holding the embedded backend's serving tables (every rollup, and the
rollups merged over countries: see EmbeddedBackend.tables/merged), rows in day order and,
within a day, in (title_id, asset_id) order, in small row groups. DuckDB keeps min/max
statistics per row group, so a question about a few titles or assets over a window reads
one or two small row groups per day of the window and skips the rest; unlike day files,
there is no file to open and no footer to parse per day.

Why day order and not the server-built copy's (title_id, asset_id, day) order: an ingest
produces its rows a day at a time, so day order is what it can write without sorting the
whole history — appending a day costs that day's rows only. A daily ingest starts from a
copy of its parent's layout (which a version never shares: it is immutable once published),
deletes the days it rebuilds and appends them again; a version without a parent layout
(the first ingest, or a parent written by the Spark engine) loads its kept days from the
parent's day files.

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
# small enough that a day's rows span many groups, so a title's rows of a day fill one or two
ROW_GROUP_ROWS = 16_384
DAY_ORDER = ("title_id", "asset_id")  # the order of rows within a day
INFO_TABLE = "_layout_info"  # key/value: format, run that wrote it, days it holds


def layout_path(version_root: Path, label: str) -> Path:
    """Where a version folder holds the serving layout of backend `label`."""
    return version_root / FOLDER / f"{label}{SUFFIX}"


def published_layout(version: Version, label: str) -> Path | None:
    """The serving layout the ETL published with a version, or None when it has none."""
    path = layout_path(version.root, label)
    return path if path.is_file() else None


__all__ = [
    "DAY_ORDER",
    "FOLDER",
    "INFO_TABLE",
    "LAYOUT_FORMAT",
    "ROW_GROUP_ROWS",
    "layout_path",
    "published_layout",
]
