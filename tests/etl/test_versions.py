"""Warehouse versions: idempotent re-ingest of a day, adding days, and kill -9 safety."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as pads
import pytest

from keyart.warehouse import Warehouse
from keyart.warehouse.tables import ASSET_COUNTRY_DAY

from . import hold
from .conftest import Ingest
from .rawdata import Raw, at, random_world, split

MEASURES = ("impressions", "qualified_plays", "play_seconds", "engaged_plays")


def cells(wh: Path) -> dict[tuple[object, ...], tuple[int, ...]]:
    version = Warehouse(wh).current()
    table = pads.dataset(str(version.rollup_dir(ASSET_COUNTRY_DAY)), format="parquet").to_table()
    return {
        (r["day"], r["asset_id"], r["country"]): tuple(r[m] for m in MEASURES)
        for r in table.to_pylist()
    }


def truth(raw: Raw) -> dict[tuple[object, ...], tuple[int, ...]]:
    """The exact counts of `raw` per (day, asset, country), as `cells` reads them."""
    return {k: tuple(getattr(v, m) for m in MEASURES) for k, v in raw.truth().cells().items()}


def test_reingest_is_idempotent(run_ingest: Ingest, tmp_path: Path) -> None:
    raw = random_world(seed=21)
    first = run_ingest(raw)
    before = cells(tmp_path / "wh")
    assert before == truth(raw)
    second = run_ingest(raw, name="again")
    assert second.parent_version == first.warehouse_version
    assert cells(tmp_path / "wh") == before  # no double counting
    version = Warehouse(tmp_path / "wh").current()
    assert version.manifest["parent"] == first.warehouse_version
    assert [d.isoformat() for d in version.days] == first.days


def test_adding_and_replacing_days(run_ingest: Ingest, tmp_path: Path) -> None:
    raw = random_world(seed=22, days=3)
    # a play early on day 2 attributed to an impression late on day 1: the second run
    # must find that impression in the parent version
    raw.imp(5, "t1a1", at(1, 23.5), "JP")
    raw.play(5, "t1", at(2, 0.2), 1000, "t1a1")
    run_ingest(split(raw, {0, 1}), name="d01")
    run_ingest(split(raw, {2}), name="d2")
    assert cells(tmp_path / "wh") == truth(raw)
    version = Warehouse(tmp_path / "wh").current()
    assert version.days == sorted({at(d).date() for d in range(3)})
    # re-ingesting day 1 with fewer events replaces it; days 0 and 2 stay
    day1 = split(raw, {1})
    day1.impressions = day1.impressions[: len(day1.impressions) // 2]
    day1.playbacks = []
    run_ingest(day1, name="d1")
    expected = truth(split(raw, {0, 2}))
    expected |= truth(day1)
    # day 2's plays keep the attribution they got when day 2 was ingested
    assert {k: v for k, v in cells(tmp_path / "wh").items() if k[0] != at(2).date()} == {
        k: v for k, v in expected.items() if k[0] != at(2).date()
    }
    assert {k for k in cells(tmp_path / "wh") if k[0] == at(2).date()} == {
        k for k in truth(raw) if k[0] == at(2).date()
    }


def _ingest_cmd(raw: Path, wh: Path) -> list[str]:
    code = (
        "import sys; from pathlib import Path; from keyart.etl.embedded import ingest; "
        "ingest(Path(sys.argv[1]), Path(sys.argv[2]), publish_snapshot=False)"
    )
    return [sys.executable, "-c", code, str(raw), str(wh)]


@pytest.mark.slow
@pytest.mark.parametrize("step", ["rollups", "commit"])
def test_kill_mid_ingest_keeps_previous_version(tmp_path: Path, step: str) -> None:
    raw = random_world(seed=23)
    old_raw = raw.write(tmp_path / "old")
    wh = tmp_path / "wh"
    subprocess.run(_ingest_cmd(old_raw, wh), check=True)
    current = Warehouse(wh).current()
    before = cells(wh)
    new = random_world(seed=24).write(tmp_path / "new")
    marker = tmp_path / "marker"
    proc = subprocess.Popen(hold.command(step, marker, new, wh, "--no-snapshot"))
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, "ingest ended before reaching the hold point"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        staged = list((wh / "versions").glob(".staging-*"))
        assert staged and any(staged[0].rglob("*.parquet"))  # it was mid-way
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert Warehouse(wh).current().name == current.name
    assert cells(wh) == before
    # a re-run succeeds, publishes a new version and clears the killed run's staging
    subprocess.run(_ingest_cmd(new, wh), check=True)
    assert Warehouse(wh).current().name != current.name
    assert not list((wh / "versions").glob(".staging-*"))
