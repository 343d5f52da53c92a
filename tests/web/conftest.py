"""Fixtures shared by the browser tests: the browser to drive and a real server to point it at."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server_process import ServerProcess
from tests.web.browser import chromium_or_skip


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's Chromium; skips the module without it (fails with KEYART_REQUIRE_BROWSER=1)."""
    return chromium_or_skip()


@pytest.fixture
def server(tiny_warehouse: Path, tmp_path: Path) -> Iterator[ServerProcess]:
    """`keyart serve` over the tiny warehouse, in its own process; must stop cleanly."""
    process = ServerProcess(["serve", "--warehouse", str(tiny_warehouse)], tmp_path / "s.log")
    try:
        process.wait_ready()
        yield process
    finally:
        assert process.stop() == 0, process.output()
