"""Shared helpers for ETL tests: ingest without a snapshot into a fresh warehouse."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from keyart.config import EtlSettings, GateSettings
from keyart.etl.embedded import ingest
from keyart.etl.report import IngestReport

from .rawdata import Raw

Ingest = Callable[..., IngestReport]
# worlds built to exercise classification are noisy on purpose: the gates have their tests
ACCEPT = GateSettings(accept_anomalies=True)


@pytest.fixture
def run_ingest(tmp_path: Path) -> Ingest:
    """ingest(raw) into tmp_path/wh; `name` picks the raw folder (for several runs)."""

    def run(
        raw: Raw,
        name: str = "raw",
        settings: EtlSettings | None = None,
        gates: GateSettings = ACCEPT,
    ) -> IngestReport:
        root = raw.write(tmp_path / name)
        return ingest(
            root, tmp_path / "wh", settings or EtlSettings(), publish_snapshot=False, gates=gates
        )

    return run
