"""Session-wide fixtures: one tiny raw dataset and one warehouse built from it, shared by
every test folder (tests that modify a warehouse must build their own copy)."""

from __future__ import annotations

from pathlib import Path

import pytest

TINY_SEED = 7


@pytest.fixture(scope="session")
def tiny_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `tiny` synthetic profile written as a raw directory (read-only for tests)."""
    from keyart.etl.generate import generate

    out = tmp_path_factory.mktemp("tiny") / "raw"
    generate("tiny", out, seed=TINY_SEED)
    return out


@pytest.fixture(scope="session")
def tiny_warehouse(tiny_raw: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse ingested from `tiny_raw` with default settings, snapshot published."""
    from keyart.config import EtlSettings
    from keyart.etl.ingest import ingest

    wh = tmp_path_factory.mktemp("tiny-wh") / "warehouse"
    ingest(tiny_raw, wh, EtlSettings(), progress=False, publish_snapshot=True)
    return wh
