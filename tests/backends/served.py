"""A DuckDB backend opened over a warehouse's day files or over its serving copy: the two
storages every embedded and legacy backend test runs against."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TypeVar

from keyart.backends.duckdb.backend import DuckDBBackend

STORAGES = ("parquet", "served")
B = TypeVar("B", bound=DuckDBBackend)


@contextlib.asynccontextmanager
async def opened(
    kind: type[B],
    warehouse: Path,
    storage: str,
    *,
    cache_dir: Path | None = None,
    timeout: float = 120,
) -> AsyncIterator[B]:
    """A `kind` backend over `warehouse` reading its day files ("parquet"), or its serving
    copy ("served", built in `cache_dir` when given) once that copy is ready; closed after."""
    served = storage == "served"
    backend = kind(warehouse, threads=2, serving=served, cache_dir=cache_dir if served else None)
    try:
        if served:
            assert await backend.wait_until_served(timeout=timeout)
        yield backend
    finally:
        await backend.aclose()
