"""The serving process's garbage-collector settings: what exists once the app is up is
frozen out of collections, the gen-0 threshold is the configured one while it serves, and
both are undone when it stops."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from keyart import gc_tuning
from keyart.config import ApiSettings
from keyart.errors import ConfigError
from tests.e2e.harness import api, gql


def test_settle_freezes_and_sets_the_threshold_and_undo_restores() -> None:
    before = gc.get_threshold()
    survivor = [object() for _ in range(100)]
    undo = gc_tuning.settle(12_345)
    try:
        assert gc.get_threshold() == (12_345, before[1], before[2])
        assert gc.get_freeze_count() >= len(survivor)
    finally:
        undo()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_zero_keeps_the_interpreters_threshold() -> None:
    before = gc.get_threshold()
    undo = gc_tuning.settle(0)
    assert gc.get_threshold() == before
    undo()


async def test_the_server_applies_its_setting_while_it_serves(tiny_warehouse: Path) -> None:
    before = gc.get_threshold()
    async with api(tiny_warehouse, gc_threshold=23_456) as client:
        assert gc.get_threshold()[0] == 23_456
        assert gc.get_freeze_count() > 0
        body = await gql(client, "{ dataVersion }")
        assert "errors" not in body
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_negative_threshold_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match="KEYART_GC_THRESHOLD"):
        ApiSettings.from_env({"KEYART_GC_THRESHOLD": "-1"})
