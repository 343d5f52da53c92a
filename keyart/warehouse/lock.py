"""The warehouse's single-writer lock: one ingest or publish at a time per warehouse.

An OS file lock (flock via `filelock`) on WH/.writer.lock, so the kernel releases it when
its holder dies, however it dies; the holder writes its pid and start time to
WH/.writer.json so that a waiting run can say who it waits for.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from filelock import FileLock, Timeout

from keyart.errors import WarehouseBusy

LOCK_FILE = ".writer.lock"
HOLDER_FILE = ".writer.json"
DEFAULT_WAIT_S = 300.0  # how long a second run waits for the first by default


class WriterLock:
    """Held by the one process that may write a warehouse; use as a context manager."""

    def __init__(
        self,
        root: Path,
        *,
        wait_s: float = DEFAULT_WAIT_S,
        notify: Callable[[str], None] | None = None,
        purpose: str = "ingest",
    ) -> None:
        if wait_s < 0:
            raise ValueError(f"wait_s must be >= 0, got {wait_s}")
        self.root = Path(root)
        self.wait_s = wait_s
        self.notify = notify
        self.purpose = purpose
        self._lock = FileLock(self.root / LOCK_FILE, thread_local=False)

    @property
    def held(self) -> bool:
        """Whether this process holds the lock now."""
        return self._lock.is_locked

    def holder(self) -> str:
        """Who holds the lock, as written by the holder (or "an unknown process")."""
        try:
            info = json.loads((self.root / HOLDER_FILE).read_text())
            return (
                f"{info.get('purpose', 'a writer')} pid {info['pid']} "
                f"started {info['started_at']} on {info.get('host', '?')}"
            )
        except (OSError, ValueError, KeyError, TypeError):
            return "an unknown process"

    def acquire(self) -> WriterLock:
        """Take the lock, waiting up to `wait_s` seconds; WarehouseBusy when it stays taken."""
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            if self.wait_s > 0 and self.notify is not None:
                self.notify(
                    f"warehouse {self.root} is being written by {self.holder()}; "
                    f"waiting up to {self.wait_s:g} s"
                )
            started = time.monotonic()
            try:
                self._lock.acquire(timeout=self.wait_s, poll_interval=0.2)
            except Timeout as exc:
                raise WarehouseBusy(
                    f"warehouse {self.root} is being written by {self.holder()}; gave up "
                    f"after {time.monotonic() - started:.0f} s (raise --wait or retry later)"
                ) from exc
        self._write_holder()
        return self

    def release(self) -> None:
        """Give the lock up, removing the holder file first (a refused or finished run
        leaves the warehouse as it found it; a killed holder's stale file is rewritten by
        the next holder)."""
        if self._lock.is_locked:
            (self.root / HOLDER_FILE).unlink(missing_ok=True)
            self._lock.release()

    def _write_holder(self) -> None:
        info = {
            "pid": os.getpid(),
            "host": os.uname().nodename,
            "purpose": self.purpose,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        tmp = self.root / f".{HOLDER_FILE}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(info))
        os.replace(tmp, self.root / HOLDER_FILE)

    def __enter__(self) -> WriterLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


__all__ = ["DEFAULT_WAIT_S", "HOLDER_FILE", "LOCK_FILE", "WriterLock"]
