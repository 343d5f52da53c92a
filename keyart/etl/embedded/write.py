"""Parquet output of the embedded engine: the file options of the daily tables and a
writer that encodes files on background threads while the caller builds the next ones."""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from keyart.warehouse.layout import Staging

WRITE_THREADS = 2  # Parquet files encoded in parallel (pyarrow releases the GIL)
WRITE_PENDING = 16  # tables queued for writing at most: bounds memory
# the string key columns: dictionary pages and min/max statistics pay only there
_KEY_STRINGS = [
    "title_id",
    "asset_id",
    "asset_type",
    "country",
    "affinity",
    "affinities.list.element",
]
# Written without the Arrow schema, dictionary-encoded string columns read back as strings.
PARQUET: dict[str, Any] = {
    # lz4: about 30% less encoding CPU than zstd on the rollups, files about 35% larger
    "compression": "lz4",
    "store_schema": False,
    "use_dictionary": _KEY_STRINGS,
    "write_statistics": ["day", *_KEY_STRINGS],
}


def write_parquet(table: pa.Table, path: Path) -> None:
    """Write one daily table with the PARQUET options (creating its folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, **PARQUET)


class ParquetWriter:
    """Writes Parquet files on background threads while the caller builds the next ones;
    each file is hashed for the manifest right after it is written (still in the page
    cache, off the caller's path). Counts the rows written per table name."""

    def __init__(self, staging: Staging) -> None:
        self.staging = staging
        self.pool = ThreadPoolExecutor(WRITE_THREADS, thread_name_prefix="keyart-write")
        self.pending: deque[Future[None]] = deque()
        self.rows: dict[str, int] = {}

    def _write(self, table: pa.Table, path: Path) -> None:
        write_parquet(table, path)
        self.staging.record_checksum(path)

    def submit(self, name: str, table: pa.Table, path: Path) -> None:
        """Queue `table` for writing to `path` (waiting while too many are queued)."""
        self.rows[name] = self.rows.get(name, 0) + table.num_rows
        self.pending.append(self.pool.submit(self._write, table, path))
        while len(self.pending) > WRITE_PENDING:
            self.pending.popleft().result()

    def drain(self) -> None:
        """Wait until every queued file is written (raising the first write error)."""
        while self.pending:
            self.pending.popleft().result()

    def close(self) -> None:
        """Drain, then stop the threads (dropping what is queued after an error)."""
        try:
            self.drain()
        finally:
            self.pool.shutdown(cancel_futures=True)


__all__ = ["PARQUET", "ParquetWriter", "write_parquet"]
