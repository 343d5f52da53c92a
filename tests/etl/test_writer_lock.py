"""One writer per warehouse: concurrent `keyart ingest` processes queue on the writer lock
instead of losing each other's days, and a run that cannot get the lock refuses clearly."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from keyart.warehouse import Warehouse

from . import hold
from .rawdata import random_world, split
from .test_versions import cells, truth

BUSY_EXIT = 75


def _keyart(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "keyart.cli", *map(str, args)]


def _ingest(raw: Path, wh: Path, *extra: str) -> list[str]:
    return _keyart("ingest", "--raw", raw, "--warehouse", wh, "--no-progress", *extra)


def _wait_for(check: object, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 120
    while not check():  # type: ignore[operator]
        assert proc.poll() is None, f"ingest ended before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.slow
def test_two_concurrent_ingests_of_different_days_keep_both(tmp_path: Path) -> None:
    raw = random_world(seed=31, days=2)
    first = split(raw, {0}).write(tmp_path / "day0")
    second = split(raw, {1}).write(tmp_path / "day1")
    wh = tmp_path / "wh"
    marker = tmp_path / "marker"
    # the first run pauses just before its commit, holding the lock with a staged version
    holder = subprocess.Popen(hold.command("commit", marker, first, wh, "--no-snapshot"))
    try:
        _wait_for(marker.exists, holder, "the hold point")
        staged = list((wh / "versions").glob(".staging-*"))
        assert len(staged) == 1
        err = tmp_path / "second.err"
        with open(err, "wb") as fh:
            waiter = subprocess.Popen(_ingest(second, wh, "--wait", "120"), stderr=fh)
            _wait_for(lambda: b"waiting up to 120 s" in err.read_bytes(), waiter, "its wait")
            message = err.read_text()
            assert f"pid {holder.pid} started " in message
            # the waiting run deleted nothing of the live run's staging
            assert staged[0].is_dir() and any(staged[0].rglob("*.parquet"))
            marker.unlink()  # let the first run commit
            assert holder.wait(120) == 0
            assert waiter.wait(120) == 0
    finally:
        for proc in (holder,):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    # both days are in the current version, each exactly as the raw events say
    assert cells(wh) == truth(raw)
    current = Warehouse(wh).current()
    assert current.manifest["parent"] is not None
    assert not list((wh / "versions").glob(".staging-*"))


@pytest.mark.slow
def test_a_second_run_refuses_when_the_lock_stays_taken(tmp_path: Path) -> None:
    raw = random_world(seed=32, days=1)
    path = raw.write(tmp_path / "raw")
    wh = tmp_path / "wh"
    marker = tmp_path / "marker"
    holder = subprocess.Popen(hold.command("locked", marker, path, wh, "--no-snapshot"))
    try:
        _wait_for(marker.exists, holder, "the hold point")
        started = time.monotonic()
        refused = subprocess.run(
            _ingest(path, wh, "--wait", "0"), capture_output=True, text=True, check=False
        )
        assert refused.returncode == BUSY_EXIT
        assert f"being written by ingest pid {holder.pid}" in refused.stderr
        assert "Traceback" not in refused.stderr
        waited = subprocess.run(
            _ingest(path, wh, "--wait", "1"), capture_output=True, text=True, check=False
        )
        assert waited.returncode == BUSY_EXIT
        assert "waiting up to 1 s" in waited.stderr and "gave up after" in waited.stderr
        assert time.monotonic() - started < 60
        assert Warehouse(wh).current_or_none() is None  # nothing was written by either
    finally:
        # a killed holder's lock is released by the kernel: the next run goes ahead
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    subprocess.run(_ingest(path, wh, "--wait", "0", "--no-snapshot"), check=True)
    assert cells(wh) == truth(raw)
