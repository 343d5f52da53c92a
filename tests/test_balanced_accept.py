"""The workers' shared slot file (keyart/balanced_accept.py): one slot per live worker,
counts seen by the others, a gone worker's slot ignored and reclaimed. The balanced
accepting itself is tested over real TCP against `keyart serve --workers 2` in
tests/e2e/test_workers.py."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from keyart.balanced_accept import Slots, create_slots


@pytest.fixture
def sleepers() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Two live processes standing for other workers."""
    procs = [
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"]) for _ in range(2)
    ]
    yield procs
    for p in procs:
        p.kill()
        p.wait()


def test_live_workers_hold_one_slot_each_and_see_the_least_loaded_other(
    tmp_path: Path, sleepers: list[subprocess.Popen[bytes]]
) -> None:
    path = tmp_path / "slots"
    create_slots(path, 2)
    mine, peer, late = Slots(path), Slots(path), Slots(path)
    try:
        assert mine.claim(os.getpid()) == 0
        assert mine.least_of_others() is None  # alone: accept freely
        assert peer.claim(sleepers[0].pid) == 1
        assert late.claim(sleepers[1].pid) is None  # both slots held by live workers
        mine.publish(3)
        peer.publish(1)
        assert mine.least_of_others() == 1
        assert peer.least_of_others() == 3
        assert mine.counts() == {os.getpid(): 3, sleepers[0].pid: 1}

        # the peer's process ends: its stale count no longer holds anyone back, and its
        # replacement takes the slot over with a count of 0
        sleepers[0].kill()
        sleepers[0].wait()
        assert mine.least_of_others() is None
        assert late.claim(sleepers[1].pid) == 1
        assert mine.least_of_others() == 0

        late.release()  # a worker that stops accepting gives its slot up
        assert mine.least_of_others() is None
        assert mine.counts() == {os.getpid(): 3}
    finally:
        for slots in (mine, peer, late):
            slots.close()
