"""One version per answer: every request reads the warehouse version its snapshot was
built from (never a newer CURRENT), a run killed between commit and snapshot publish is
healed by `keyart publish`, and a broken newest snapshot falls back to an intact one."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from keyart.config import EtlSettings
from keyart.etl.embedded import ingest
from keyart.etl.publish import announced_warehouse_version
from keyart.store import files
from keyart.warehouse import Warehouse
from tests.e2e.harness import api, data
from tests.etl import hold
from tests.etl.rawdata import Raw, random_world, split
from tests.truth import Truth

ASSETS = ["t0a0", "t0a1", "t1a0", "t1a1"]
QUERY = """query($ids: [ID!]!, $w: DateRange!) { dataVersion
  assets(ids: $ids) { id
    allTime { impressions qualifiedPlays playSeconds engagedPlays }
    metrics(window: $w) { impressions qualifiedPlays playSeconds engagedPlays } } }"""


def _expected(truth: Truth) -> dict[str, dict[str, int]]:
    days = truth.days()
    out = {}
    for a in ASSETS:
        m = truth.metrics(days[0], days[-1], assets={a})
        out[a] = {
            "impressions": m.impressions,
            "qualifiedPlays": m.qualified_plays,
            "playSeconds": m.play_seconds,
            "engagedPlays": m.engaged_plays,
        }
    return out


async def _answers(client: Any, world: Raw) -> tuple[str, dict[str, Any], dict[str, Any]]:
    days = world.truth().days()
    window = {"start": days[0].isoformat(), "end": days[-1].isoformat()}
    got = await data(client, QUERY, {"ids": ASSETS, "w": window})
    all_time = {a["id"]: a["allTime"] for a in got["assets"]}
    windowed = {a["id"]: a["metrics"] for a in got["assets"]}
    return got["dataVersion"], all_time, windowed


def _keyart(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "keyart.cli", *map(str, args)]


async def test_windowed_metrics_follow_the_snapshot_not_current(tmp_path: Path) -> None:
    world = random_world(seed=41, days=2)
    wh = tmp_path / "wh"
    ingest(split(world, {0}).write(tmp_path / "day0"), wh, EtlSettings())
    first = Warehouse(wh).current().name
    ingest(split(world, {1}).write(tmp_path / "day1"), wh, EtlSettings(), publish_snapshot=False)
    assert Warehouse(wh).current().name != first  # CURRENT moved, the snapshot did not
    day0 = _expected(split(world, {0}).truth())
    assert day0 != _expected(world.truth())  # day 1 changes every asset's numbers
    async with api(wh, cache_ttl_s=0, snapshot_poll_s=3600) as client:
        _, all_time, windowed = await _answers(client, world)
        assert (await client.get("/readyz")).json()["warehouse"] == first
        # allTime (snapshot) and windowed metrics (backend) agree: both from version 1
        assert all_time == windowed == day0
        # publishing heals; the next snapshot and the backend move together
        proc = subprocess.run(_keyart("publish", "--warehouse", wh), capture_output=True)
        assert proc.returncode == 0, proc.stderr
        assert client.app.state.keyart.consumer.refresh()  # type: ignore[attr-defined]
        _, all_time, windowed = await _answers(client, world)
        assert (await client.get("/readyz")).json()["warehouse"] == Warehouse(wh).current().name
        assert all_time == windowed == _expected(world.truth())


@pytest.mark.slow
def test_a_run_killed_between_commit_and_snapshot_is_healed_by_publish(tmp_path: Path) -> None:
    world = random_world(seed=42, days=2)
    wh = tmp_path / "wh"
    day0, day1 = split(world, {0}).write(tmp_path / "d0"), split(world, {1}).write(tmp_path / "d1")
    subprocess.run(_keyart("ingest", "--raw", day0, "--warehouse", wh, "--no-progress"), check=True)
    old = Warehouse(wh).current().name
    marker = tmp_path / "marker"
    proc = subprocess.Popen(hold.command("snapshot", marker, day1, wh))
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    new = Warehouse(wh).current().name
    assert new != old  # committed ...
    assert announced_warehouse_version(wh / "snapshots") == old  # ... but not published
    healed = subprocess.run(
        _keyart("publish", "--warehouse", wh, "--wait", "0"), capture_output=True, text=True
    )
    assert healed.returncode == 0, healed.stderr
    assert re.search(rf"published snapshot s\d+-\S+ of warehouse version {new}", healed.stdout)
    assert announced_warehouse_version(wh / "snapshots") == new
    # idempotent: a second publish finds nothing to do and writes nothing
    before = sorted(p.name for p in (wh / "snapshots").iterdir())
    # (--verify re-hashes every file: the checksums recorded while writing hold)
    again = subprocess.run(
        _keyart("publish", "--warehouse", wh, "--verify"), capture_output=True, text=True
    )
    assert again.returncode == 0 and "nothing to do" in again.stdout
    assert sorted(p.name for p in (wh / "snapshots").iterdir()) == before


async def test_a_corrupt_newest_blob_on_restart_serves_the_older_intact_one(
    tmp_path: Path,
) -> None:
    world = random_world(seed=43, days=2)
    wh = tmp_path / "wh"
    ingest(split(world, {0}).write(tmp_path / "day0"), wh, EtlSettings())
    older = files.read_announcement(wh / "snapshots")
    ingest(split(world, {1}).write(tmp_path / "day1"), wh, EtlSettings())
    newest = files.read_announcement(wh / "snapshots")
    blob = wh / "snapshots" / newest.file
    raw = bytearray(blob.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    blob.write_bytes(bytes(raw))
    async with api(wh, cache_ttl_s=0, snapshot_poll_s=3600) as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["snapshot"] == older.version
        version, all_time, windowed = await _answers(client, world)
        # the older snapshot, and the backend reads its warehouse version too
        assert version == older.version
        assert ready.json()["warehouse"] == older.warehouse_version
        assert all_time == windowed == _expected(split(world, {0}).truth())
        text = (await client.get("/metrics")).text
        assert "keyart_snapshot_fallbacks_total 1.0" in text
        failures = re.search(r"^keyart_snapshot_poll_failures_total (\S+)$", text, re.M)
        assert failures is not None and float(failures.group(1)) >= 1  # each poll counts


def test_publish_refuses_a_damaged_version(tmp_path: Path) -> None:
    world = random_world(seed=44, days=1)
    wh = tmp_path / "wh"
    ingest(world.write(tmp_path / "raw"), wh, EtlSettings(), publish_snapshot=False)
    version = Warehouse(wh).current()
    rollup = next(version.root.glob("rollups/*/day=*/*.parquet"))
    rollup.write_bytes(rollup.read_bytes()[:-10])  # truncated behind the manifest's back
    proc = subprocess.run(_keyart("publish", "--warehouse", wh), capture_output=True, text=True)
    assert proc.returncode == 2
    assert f"warehouse version {version.name} is damaged" in proc.stderr
    assert announced_warehouse_version(wh / "snapshots") is None  # nothing published
