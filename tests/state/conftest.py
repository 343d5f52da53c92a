"""The state store under test (see tests/conftest.py: store_url is SQLite or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from keyart.state import StateStore, state_url


@pytest.fixture
def store(store_url: str) -> Iterator[StateStore]:
    """An open, migrated state store."""
    opened = StateStore.open(state_url(Path("unused"), store_url))
    yield opened
    opened.close()
