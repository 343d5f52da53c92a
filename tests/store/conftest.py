"""Fixtures of the snapshot store tests: hand-built warehouses and blob directories."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.store.handmade import Handmade, build


@pytest.fixture(scope="session")
def handmade(tmp_path_factory: pytest.TempPathFactory) -> Handmade:
    """A small hand-built warehouse version with its exact truth (read only: tests that
    change a warehouse build their own)."""
    return build(tmp_path_factory.mktemp("handmade") / "wh")


@pytest.fixture
def blob_dir(tmp_path: Path) -> Path:
    """An empty snapshot blob directory."""
    return tmp_path / "snapshots"
