"""Backend test fixtures: exact truth computed from the tiny raw data, independently of
the ETL (the raw data and warehouse themselves come from tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.backends.cases import Universe
from tests.backends.handmade import Dataset
from tests.backends.truth import LOW_LG_K, raw_truth, universe


@pytest.fixture(scope="session")
def tiny_truth(tiny_raw: Path) -> Dataset:
    """Clean impressions and attributed qualified plays of the tiny raw data."""
    return raw_truth(tiny_raw)


@pytest.fixture(scope="session")
def tiny_universe(tiny_truth: Dataset) -> Universe:
    """The calendar and busiest values of the tiny data, to build test queries from."""
    return universe(tiny_truth)


@pytest.fixture(scope="session")
def tiny_warehouse_low_precision(tiny_raw: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny data ingested with lgK=5, so that many groups hold far more members than
    the sketch keeps exactly and the bounds are really put to the test."""
    from keyart.config import EtlSettings
    from keyart.etl.ingest import ingest

    wh = tmp_path_factory.mktemp("tiny-wh-lg5") / "warehouse"
    ingest(tiny_raw, wh, EtlSettings(lg_k=LOW_LG_K), progress=False, publish_snapshot=False)
    return wh


@pytest.fixture(scope="session")
def tiny_serving_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for serving copies of the shared tiny warehouse (which stays untouched)."""
    return tmp_path_factory.mktemp("tiny-serving")
