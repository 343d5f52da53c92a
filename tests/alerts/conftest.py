"""Fixtures of the notification tests: a live webhook receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from keyart.state import StateStore
from tests.alerts.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1 answering 204."""
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def store(store_url: str) -> Iterator[StateStore]:
    """An open, migrated state store (SQLite or PostgreSQL)."""
    opened = StateStore.open(store_url)
    yield opened
    opened.close()
