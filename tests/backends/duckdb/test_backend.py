"""What both DuckDB backends (embedded, legacy) share through their base class: a missing
warehouse or a closed backend is unavailable, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from keyart.backends.duckdb.backend import DuckDBBackend
from keyart.backends.embedded import EmbeddedBackend
from keyart.backends.legacy import LegacyBackend
from keyart.errors import BackendUnavailable
from tests.backends.handmade import CASES

KINDS = pytest.mark.parametrize(
    "kind", [EmbeddedBackend, LegacyBackend], ids=["embedded", "legacy"]
)


@KINDS
async def test_missing_warehouse_is_unavailable(kind: type[DuckDBBackend], tmp_path: Path) -> None:
    backend = kind(tmp_path / "nothing")
    try:
        with pytest.raises(BackendUnavailable):
            await backend.ping()
        with pytest.raises(BackendUnavailable):
            await backend.execute(CASES["total"])
    finally:
        await backend.aclose()


@KINDS
async def test_closed_backend_is_unavailable(
    kind: type[DuckDBBackend], handmade_warehouse: Path
) -> None:
    backend = kind(handmade_warehouse)
    await backend.aclose()
    with pytest.raises(BackendUnavailable):
        await backend.execute(CASES["total"])
