"""The embedded engine calls the caller's checkpoint at each named step, in run order, with
a `settle` that puts what is staged so far on disk."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from keyart.config import GateSettings
from keyart.etl.embedded import ingest
from keyart.etl.embedded.checkpoints import STEPS
from keyart.warehouse import Warehouse

from ..rawdata import random_world


def test_checkpoints_run_in_order_and_settle_staged_files(tmp_path: Path) -> None:
    raw = random_world(seed=5, days=2).write(tmp_path / "raw")
    wh = tmp_path / "wh"
    seen: list[str] = []
    staged_at_rollups: list[int] = []

    def checkpoint(step: str, settle: Callable[[], None]) -> None:
        settle()
        seen.append(step)
        if step == "rollups":
            staged_at_rollups.extend(
                len(list(s.rglob("*.parquet"))) for s in (wh / "versions").glob(".staging-*")
            )
        if step == "snapshot":  # the version is committed by now
            assert Warehouse(wh).current_or_none() is not None
        else:
            assert Warehouse(wh).current_or_none() is None

    ingest(
        raw,
        wh,
        publish_snapshot=False,
        gates=GateSettings(accept_anomalies=True),
        checkpoint=checkpoint,
    )
    assert seen[0] == "locked" and seen[-2:] == ["commit", "snapshot"]
    assert set(seen[1:-2]) == {"rollups"}
    assert set(seen) == set(STEPS)
    # every rollup checkpoint saw the staged daily files written, none pending
    assert staged_at_rollups and all(n > 0 for n in staged_at_rollups)
