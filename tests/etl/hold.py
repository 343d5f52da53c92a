"""Runs one embedded ingest that pauses at a named step until a marker file is deleted, so
that a test can kill the process at a known point or let it go on:

    python tests/etl/hold.py STEP MARKER RAW WAREHOUSE \
        [--no-snapshot] [--serving-layout] [--accept-anomalies]

At STEP (one of keyart.etl.embedded.checkpoints.STEPS) it finishes the writes under way,
writes MARKER and waits (at most 600 s) for it to disappear.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from keyart.config import GateSettings
from keyart.etl.embedded import ingest
from keyart.etl.embedded.checkpoints import STEPS, Checkpoint

SCRIPT = Path(__file__)


def command(step: str, marker: Path, raw: Path, warehouse: Path, *extra: str) -> list[str]:
    """The command line that runs this script."""
    return [sys.executable, str(SCRIPT), step, str(marker), str(raw), str(warehouse), *extra]


def hold_at(step: str, marker: Path) -> Checkpoint:
    """A checkpoint that pauses at `step` while `marker` exists."""
    if step not in STEPS:
        raise ValueError(f"unknown step {step!r}; one of {STEPS}")

    def checkpoint(reached: str, settle: Callable[[], None]) -> None:
        if reached != step:
            return
        settle()
        marker.write_text(step)
        deadline = time.monotonic() + 600
        while marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    return checkpoint


def main(argv: Sequence[str]) -> int:
    step, marker, raw, warehouse, *flags = argv
    ingest(
        Path(raw),
        Path(warehouse),
        publish_snapshot="--no-snapshot" not in flags,
        serving_layout="--serving-layout" in flags,
        gates=GateSettings(accept_anomalies="--accept-anomalies" in flags),
        checkpoint=hold_at(step, Path(marker)),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
