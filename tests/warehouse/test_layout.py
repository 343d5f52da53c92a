import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from keyart.errors import WarehouseBusy, WarehouseError
from keyart.warehouse import Warehouse


def _publish(wh: Warehouse, text: str, parent_file: str | None = None) -> str:
    with wh.writer(wait_s=0) as lock, wh.stage(lock) as staging:
        if parent_file is not None:
            staging.link_from(wh.current(), parent_file)
        (staging.root / "data.txt").write_text(text)
        if parent_file is None:
            (staging.root / "kept.txt").write_text(f"kept from {text}")
        return staging.commit({"etl": {"lg_k": 14}, "days": ["2026-01-05"]}).name


def test_empty_warehouse_names_the_command_to_run(tmp_path: Path) -> None:
    with pytest.raises(WarehouseError, match="keyart ingest"):
        Warehouse(tmp_path).current()
    assert Warehouse(tmp_path).current_or_none() is None


def test_commit_makes_a_new_version_current_and_links_unchanged_files(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    first = _publish(wh, "one")
    second = _publish(wh, "two", parent_file="kept.txt")
    current = wh.current()
    assert current.name == second != first
    assert (current.root / "data.txt").read_text() == "two"
    assert (wh.open(first).root / "data.txt").read_text() == "one"
    kept = current.root / "kept.txt"
    assert kept.read_text() == "kept from one"
    assert kept.stat().st_ino == (wh.open(first).root / "kept.txt").stat().st_ino
    assert current.lg_k == 14
    assert [d.isoformat() for d in current.days] == ["2026-01-05"]
    assert current.manifest["version"] == second


def test_a_failed_build_leaves_the_previous_version_current(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    good = _publish(wh, "good")
    with pytest.raises(RuntimeError), wh.stage() as staging:
        (staging.root / "data.txt").write_text("half")
        raise RuntimeError("boom")
    assert wh.current().name == good
    assert not [p for p in wh.versions_dir.iterdir() if p.name.startswith(".staging-")]


def test_a_killed_process_leaves_the_previous_version_current(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    good = _publish(wh, "good")
    script = textwrap.dedent(
        f"""
        import os, signal
        from keyart.warehouse import Warehouse
        staging = Warehouse({str(tmp_path)!r}).stage()
        (staging.root / "data.txt").write_text("partial")
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], env={**os.environ}, check=False)
    assert proc.returncode == -9
    assert wh.current().name == good
    assert (wh.current().root / "data.txt").read_text() == "good"
    # the next run sweeps the abandoned staging folder and publishes normally
    newer = _publish(wh, "newer")
    assert wh.current().name == newer
    assert not [p for p in wh.versions_dir.iterdir() if p.name.startswith(".staging-")]


def test_prune_keeps_the_newest_and_the_current(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    names = [_publish(wh, str(i)) for i in range(5)]
    wh.prune(keep=2)
    assert sorted(p.name for p in wh.versions_dir.iterdir()) == names[-2:]


def _day_version(wh: Warehouse, days: list[str], link: list[str] | None = None) -> Warehouse:
    """Commit a version with one rollup file per day (linking `link` days from the parent)."""
    parent = wh.current_or_none()
    with wh.writer(wait_s=0) as lock, wh.stage(lock) as staging:
        for day in days:
            if link is not None and day in link:
                assert parent is not None
                staging.link_from(parent, f"rollups/r/day={day}")
            else:
                part = staging.root / "rollups" / "r" / f"day={day}" / "part.parquet"
                part.parent.mkdir(parents=True)
                part.write_bytes(f"data of {day}".encode())
        staging.commit(
            {"etl": {"lg_k": 14}, "days": days},
            parent=parent,
            kept=link or [],
            check_current=True,
        )
    return wh


def test_a_commit_records_every_file_with_its_checksum(tmp_path: Path) -> None:
    wh = _day_version(Warehouse(tmp_path), ["2026-01-05", "2026-01-06"])
    files = wh.current().manifest["files"]
    assert sorted(files) == [
        "rollups/r/day=2026-01-05/part.parquet",
        "rollups/r/day=2026-01-06/part.parquet",
    ]
    data = b"data of 2026-01-05"
    assert files["rollups/r/day=2026-01-05/part.parquet"] == [
        len(data),
        hashlib.sha256(data).hexdigest(),
    ]
    # a kept (linked) day carries its checksum over
    _day_version(wh, ["2026-01-05", "2026-01-06"], link=["2026-01-05"])
    assert (
        wh.current().manifest["files"]["rollups/r/day=2026-01-05/part.parquet"]
        == files["rollups/r/day=2026-01-05/part.parquet"]
    )


def test_a_commit_missing_a_kept_day_is_refused(tmp_path: Path) -> None:
    wh = _day_version(Warehouse(tmp_path), ["2026-01-05", "2026-01-06"])
    before = wh.current().name
    # the run claims to keep 2026-01-05 but its file is not in the staged version
    with pytest.raises(WarehouseError, match=r"day=2026-01-05/part.parquet of kept day"):
        parent = wh.current()
        with wh.writer(wait_s=0) as lock, wh.stage(lock) as staging:
            staging.link_from(parent, "rollups/r/day=2026-01-06")
            staging.commit(
                {"etl": {"lg_k": 14}, "days": ["2026-01-05", "2026-01-06"]},
                parent=parent,
                kept=["2026-01-05", "2026-01-06"],
                check_current=True,
            )
    assert wh.current().name == before
    assert not list(wh.versions_dir.glob(".staging-*"))


def test_a_commit_after_the_warehouse_moved_is_refused(tmp_path: Path) -> None:
    wh = _day_version(Warehouse(tmp_path), ["2026-01-05"])
    parent = wh.current()
    staging = wh.stage()
    newer = _day_version(wh, ["2026-01-06"]).current().name  # another writer commits
    with pytest.raises(WarehouseError, match=f"moved from {parent.name} to {newer}"), staging:
        staging.commit({"etl": {"lg_k": 14}, "days": []}, parent=parent, check_current=True)
    assert wh.current().name == newer


HOLD_STAGING = """
import sys, time
from keyart.warehouse import Warehouse
wh = Warehouse(sys.argv[1])
lock = wh.writer(wait_s=0).acquire()
staging = wh.stage(lock)
(staging.root / "data.txt").write_text("live")
print(staging.root, flush=True)
time.sleep(600)
"""


def test_only_staging_of_dead_runs_is_removed(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_STAGING, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        live = Path(proc.stdout.readline().strip())
        assert live.is_dir()
        # without the lock nothing is swept; the lock cannot be had while the run lives
        wh.stage().abort()
        assert live.is_dir()
        with pytest.raises(WarehouseBusy, match=f"pid {proc.pid}"):
            wh.writer(wait_s=0).acquire()
        assert live.is_dir()
    finally:
        proc.kill()
        proc.wait()
    with wh.writer(wait_s=0) as lock:
        wh.stage(lock).abort()
    assert not live.exists()
