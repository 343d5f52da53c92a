import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from keyart.errors import WarehouseError
from keyart.warehouse import Warehouse


def _publish(wh: Warehouse, text: str, parent_file: str | None = None) -> str:
    with wh.stage() as staging:
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
