"""Shared helpers for ETL tests: ingest without a snapshot into a fresh warehouse."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from keyart.config import EtlSettings
from keyart.etl.ingest import ingest
from keyart.etl.report import IngestReport

from .rawdata import Raw

Ingest = Callable[..., IngestReport]


@pytest.fixture
def run_ingest(tmp_path: Path) -> Ingest:
    """ingest(raw) into tmp_path/wh; `name` picks the raw folder (for several runs)."""

    def run(raw: Raw, name: str = "raw", settings: EtlSettings | None = None) -> IngestReport:
        root = raw.write(tmp_path / name)
        return ingest(root, tmp_path / "wh", settings or EtlSettings(), publish_snapshot=False)

    return run
