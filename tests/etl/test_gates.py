"""Ingest quality gates and the duplicate-id rule: anomalous runs are refused before they
write anything (byte for byte), --accept-anomalies publishes them with the anomalies in the
report, and an id delivered twice with different content keeps the last delivered row."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from keyart.config import EtlSettings, GateSettings
from keyart.errors import QualityGateError
from keyart.etl.embedded import ingest
from keyart.warehouse import Warehouse
from tests.truth import Truth

from .rawdata import Raw, random_world, split
from .test_versions import cells, truth

GATE_EXIT = 65


def tree(root: Path) -> dict[str, str]:
    """Every file under `root` with its SHA-256 (what "nothing written" compares)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _ingest_cli(raw: Path, wh: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "keyart.cli", "ingest", "--raw", str(raw)]
    cmd += ["--warehouse", str(wh), "--no-progress", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


def test_events_without_profiles_are_refused_then_accepted(tmp_path: Path) -> None:
    world = random_world(seed=51, days=3)
    wh = tmp_path / "wh"
    assert _ingest_cli(split(world, {0, 1}).write(tmp_path / "good"), wh).returncode == 0
    before = tree(wh)
    # day 2 arrives with a members table that lost almost every profile
    broken = split(world, {2})
    broken.members = broken.members[:2]
    raw = broken.write(tmp_path / "broken")
    refused = _ingest_cli(raw, wh)
    assert refused.returncode == GATE_EXIT, refused.stderr
    assert "have no member profile; the limit is 50%" in refused.stderr
    assert "--accept-anomalies" in refused.stderr and "Traceback" not in refused.stderr
    assert tree(wh) == before  # warehouse, quarantine and snapshots byte-identical
    # a looser threshold lets it through; so does accepting the anomalies
    report = ingest(raw, wh, EtlSettings(), gates=GateSettings(accept_anomalies=True))
    assert len(report.accepted_anomalies) == 1
    assert "no member profile" in report.accepted_anomalies[0]
    assert "WARNING: accepted anomaly" in report.render()
    assert Warehouse(wh).current().name == report.warehouse_version


def test_a_collapsed_day_is_refused_and_a_normal_one_is_not(tmp_path: Path) -> None:
    world = random_world(seed=52, days=4, n_imps=800)
    wh = tmp_path / "wh"
    gates = GateSettings()
    ingest(split(world, {0, 1, 2}).write(tmp_path / "first"), wh, gates=gates)
    before = tree(wh)
    # day 1 re-delivered with a tenth of its impressions: vs the same day before
    day1 = split(world, {1})
    day1.impressions = day1.impressions[: len(day1.impressions) // 10]
    with pytest.raises(
        QualityGateError,
        match=r"day 2026-03-03 has \d+ impressions, \d+% of"
        r" the previous version's same day",
    ):
        ingest(day1.write(tmp_path / "thin"), wh, gates=gates)
    # a new day 3 with a tenth of the usual volume: vs the previous version's median day
    day3 = split(world, {3})
    day3.impressions = day3.impressions[: len(day3.impressions) // 10]
    with pytest.raises(QualityGateError, match="the previous version's median day"):
        ingest(day3.write(tmp_path / "new"), wh, gates=gates)
    assert tree(wh) == before
    # control: day 3 in full passes, and both it and the old days are served
    report = ingest(split(world, {3}).write(tmp_path / "full"), wh, gates=gates)
    assert report.accepted_anomalies == []
    assert cells(wh) == truth(world)


def _write_folder(raw: Raw, root: Path, table: str, parts: list[list[dict[str, object]]]) -> None:
    """Replace `table` of a written raw directory by a folder of one file per part."""
    (root / f"{table}.parquet").unlink(missing_ok=True)
    folder = root / table
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    for i, rows in enumerate(parts):
        setattr(raw, table, rows)
        pq.write_table(raw.tables()[table], folder / f"part-{i}.parquet")


def _names(wh: Path) -> dict[str, str]:
    titles = pq.read_table(Warehouse(wh).current().dim_path("titles")).to_pylist()
    return {t["title_id"]: t["name"] for t in titles}


def test_a_conflicting_duplicate_keeps_the_last_delivered_row(tmp_path: Path) -> None:
    world = random_world(seed=53, days=1)
    raw = world.write(tmp_path / "raw")
    t0, t1, t2 = world.titles
    renamed = {**t1, "name": "A conflicting name"}  # sorts first: name order would keep it
    # part-0 holds the conflicting copy and a plain repeat, part-1 (later) the real rows
    _write_folder(world, raw, "titles", [[renamed, t2], [t0, t1, t2]])
    report = ingest(raw, tmp_path / "wh", EtlSettings(), publish_snapshot=False)
    assert report.conflicts == {"titles": {"keys": 1, "examples": ["t1"]}}
    assert "WARNING: 1 titles id(s) delivered with different content (e.g. t1)" in report.render()
    names = _names(tmp_path / "wh")
    assert names["t1"] == t1["name"]
    # the independent truth applies the same rule
    assert names == {tid: row.name for tid, row in Truth.from_raw(raw).titles.items()}
    # and the later delivery wins the other way round too
    _write_folder(world, raw, "titles", [[t0, t1, t2], [renamed]])
    ingest(raw, tmp_path / "wh2", EtlSettings(), publish_snapshot=False)
    assert _names(tmp_path / "wh2")["t1"] == "A conflicting name"
