"""The snapshot consumer: loads the announced snapshot, polls for newer ones and swaps them
in atomically, keeping the last good version whenever a new one is broken. With a map
folder, a verified blob is served over memory-mapped columns that every process of the
host shares (keyart.store.mapped) instead of being decoded into each process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from keyart.errors import ConfigError, SnapshotError
from keyart.store import blob, files, mapped
from keyart.store.model import Snapshot

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Loaded:
    """The served snapshot with when it was loaded; replaced as one reference."""

    snapshot: Snapshot
    seq: int
    loaded_at: datetime


@dataclass(frozen=True, slots=True)
class ConsumerStats:
    """What the consumer reports to monitoring (Prometheus)."""

    version: str | None
    warehouse_version: str | None
    pinned: str | None
    loaded_at: datetime | None
    age_seconds: float | None  # since the served snapshot was published
    loads: int  # snapshots swapped in (the first load included)
    failures: int  # polls that found a broken, missing or unreadable announcement or blob
    fallbacks: int  # loads of an older intact blob because the announced one was broken
    last_error: str | None
    last_error_at: datetime | None
    last_poll_at: datetime | None


class SnapshotConsumer:
    """Serves the newest valid snapshot of a blob directory, or exactly `pin` when set."""

    def __init__(
        self,
        blob_dir: Path,
        *,
        poll_interval_s: float = 5.0,
        pin: str | None = None,
        map_dir: Path | None = None,
    ) -> None:
        """`map_dir`: where snapshots are kept as memory-mapped columns shared by every
        process of the host that loads them (keyart.store.mapped); None decodes each
        snapshot into this process's memory."""
        if poll_interval_s <= 0:
            raise ConfigError(f"poll_interval_s must be > 0, got {poll_interval_s}")
        if pin is not None:
            files.version_seq(pin)  # a malformed pin fails now, not on every poll
        self.blob_dir = Path(blob_dir)
        self.poll_interval_s = poll_interval_s
        self.pin = pin
        self.map_dir = map_dir
        self._loaded: _Loaded | None = None
        self._lock = threading.Lock()  # one refresh at a time; readers never take it
        self._loads = 0
        self._failures = 0
        self._fallbacks = 0
        self._last_error: str | None = None
        self._last_error_at: datetime | None = None
        self._last_poll_at: datetime | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping: asyncio.Event | None = None

    # -- reading ------------------------------------------------------------------------

    def current(self) -> Snapshot:
        """The snapshot to serve; grab it once per request and use that object throughout."""
        loaded = self._loaded
        if loaded is None:
            raise SnapshotError(f"no snapshot loaded from {self.blob_dir}: {self._last_error}")
        return loaded.snapshot

    @property
    def version(self) -> str | None:
        """The version being served, None before the first successful load."""
        loaded = self._loaded
        return None if loaded is None else loaded.snapshot.version

    @property
    def loaded_at(self) -> datetime | None:
        """When the served snapshot was swapped in."""
        loaded = self._loaded
        return None if loaded is None else loaded.loaded_at

    @property
    def last_error(self) -> str | None:
        """The most recent failure, None when there has been none."""
        return self._last_error

    @property
    def failures(self) -> int:
        """How many polls failed since start."""
        return self._failures

    @property
    def loads(self) -> int:
        """How many snapshots were swapped in since start."""
        return self._loads

    def age_seconds(self) -> float | None:
        """Seconds since the served snapshot was published (its data's staleness)."""
        return _age(self._loaded)

    def stats(self) -> ConsumerStats:
        """A consistent view of the consumer's state for monitoring."""
        loaded = self._loaded
        return ConsumerStats(
            version=None if loaded is None else loaded.snapshot.version,
            warehouse_version=None if loaded is None else loaded.snapshot.warehouse_version,
            pinned=self.pin,
            loaded_at=None if loaded is None else loaded.loaded_at,
            age_seconds=_age(loaded),
            loads=self._loads,
            failures=self._failures,
            fallbacks=self._fallbacks,
            last_error=self._last_error,
            last_error_at=self._last_error_at,
            last_poll_at=self._last_poll_at,
        )

    # -- loading ------------------------------------------------------------------------

    def load(self) -> Snapshot:
        """Load the announced (or pinned) snapshot; SnapshotError when none is valid."""
        self.refresh()
        loaded = self._loaded
        if loaded is None:
            raise SnapshotError(
                f"no valid snapshot in {self.blob_dir}: {self._last_error} "
                "(run `keyart ingest` to publish one)"
            )
        return loaded.snapshot

    def refresh(self) -> bool:
        """One poll: swap in a newer announced snapshot (or the pinned one) if valid.

        Returns whether the served snapshot changed. A broken announcement or blob is
        recorded in `last_error`/`failures`; a broken announced blob falls back to the
        newest intact blob older than it but newer than the served one (counted in
        `fallbacks`; at start, with nothing served, a broken announcement does too), else
        the last good snapshot stays served. The served version never moves backwards, and
        a pinned consumer never moves at all.
        """
        with self._lock:
            self._last_poll_at = datetime.now(UTC)
            try:
                return self._refresh_pinned() if self.pin else self._refresh_announced()
            except SnapshotError as exc:
                self._record_failure(str(exc))
                return False
            except Exception as exc:
                # a bug or an exotic I/O failure must not stop serving the last good snapshot
                log.exception("unexpected error while polling snapshots in %s", self.blob_dir)
                self._record_failure(f"unexpected {type(exc).__name__}: {exc}")
                return False

    @property
    def fallbacks(self) -> int:
        """How many times an older intact snapshot was loaded instead of a broken one."""
        return self._fallbacks

    def _refresh_announced(self) -> bool:
        try:
            announcement = files.read_announcement(self.blob_dir)
        except SnapshotError as exc:
            if self._loaded is not None:
                # the announcement is the commit point: without one, keep what is served
                self._record_failure(str(exc))
                return False
            return self._fall_back(str(exc), below=None)
        try:
            return self._load_announced(announcement)
        except SnapshotError as exc:
            return self._fall_back(str(exc), below=announcement.seq)

    def _fall_back(self, problem: str, below: int | None) -> bool:
        """Record a broken announcement or blob, then serve the newest intact blob older
        than it (`below`) but newer than the served one, if there is one."""
        self._record_failure(problem)
        loaded = self._loaded
        floor = -1 if loaded is None else loaded.seq
        for version in reversed(files.list_blob_versions(self.blob_dir)):
            seq = files.version_seq(version)
            if seq <= floor:
                break
            if below is not None and seq >= below:
                continue
            try:
                snapshot = self._load_checked(version)
            except SnapshotError as exc:
                log.warning("snapshot %s is unusable too: %s", version, exc)
                continue
            self._fallbacks += 1
            log.warning(
                "falling back to snapshot %s, the newest intact one (announced one broken: %s)",
                version,
                problem,
            )
            self._swap(snapshot)
            return True
        return False

    def _load_checked(self, version: str) -> Snapshot:
        """A blob by version, verified against its own checksum file."""
        path = self.blob_dir / files.blob_name(version)
        data = _read_bytes(path)
        checksum = self.blob_dir / files.checksum_name(version)
        digest = files.parse_checksum_file(checksum)
        _verify(path, data, digest, str(checksum))
        return self._open(path, data, version, digest)

    def _load_announced(self, announcement: files.Announcement) -> bool:
        loaded = self._loaded
        if loaded is not None and announcement.seq <= loaded.seq:
            if announcement.seq < loaded.seq:
                log.warning(
                    "announce.json names %s, older than the served %s; staying on %s",
                    announcement.version,
                    loaded.snapshot.version,
                    loaded.snapshot.version,
                )
            return False
        path = self.blob_dir / announcement.file
        data = _read_bytes(path)
        if len(data) != announcement.size:
            raise SnapshotError(
                f"{path} holds {len(data)} bytes but announce.json says {announcement.size}: "
                "half written or truncated"
            )
        _verify(path, data, announcement.sha256, "announce.json")
        self._swap(self._open(path, data, announcement.version, announcement.sha256))
        return True

    def _open(self, path: Path, data: bytes, version: str, sha256: str) -> Snapshot:
        """The snapshot of verified blob bytes: over shared mapped columns when a map
        folder is set and usable, else decoded in this process."""
        if self.map_dir is not None:
            try:
                snapshot = mapped.load(self.map_dir, version, sha256, data, str(path))
            except OSError as exc:
                log.warning(
                    "cannot map snapshot %s in %s, decoding it: %s", version, self.map_dir, exc
                )
            else:
                if snapshot.version != version:
                    raise SnapshotError(f"{path} holds snapshot {snapshot.version}, not {version}")
                return snapshot
        return _decode(path, data, version)

    def _refresh_pinned(self) -> bool:
        assert self.pin is not None
        if self._loaded is not None:
            return False  # pinned and loaded: never move
        self._swap(self._load_checked(self.pin))
        return True

    def _swap(self, snapshot: Snapshot) -> None:
        # a single reference assignment: readers see the old or the new snapshot, never a mix
        self._loaded = _Loaded(snapshot, files.version_seq(snapshot.version), datetime.now(UTC))
        self._loads += 1
        log.info("serving snapshot %s (warehouse %s)", snapshot.version, snapshot.warehouse_version)
        if self.map_dir is not None:
            try:
                mapped.remove_unused(self.map_dir, set(files.list_blob_versions(self.blob_dir)))
            except OSError as exc:
                log.warning("cannot prune mapped snapshots in %s: %s", self.map_dir, exc)

    def _record_failure(self, message: str) -> None:
        self._failures += 1
        self._last_error = message
        self._last_error_at = datetime.now(UTC)
        served = self.version or "nothing"
        log.warning("snapshot poll failed, still serving %s: %s", served, message)

    # -- polling ------------------------------------------------------------------------

    async def run(self) -> None:
        """Poll every `poll_interval_s` until stop(); file reads and decoding run in a thread
        so the event loop keeps serving."""
        if self._stopping is None:
            self._stopping = asyncio.Event()
        stopping = self._stopping
        while not stopping.is_set():
            await asyncio.to_thread(self.refresh)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=self.poll_interval_s)

    def start(self) -> asyncio.Task[None]:
        """Start the polling loop as a task of the running event loop."""
        if self._task is None or self._task.done():
            self._stopping = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(
                self.run(), name=f"snapshot-poll:{self.blob_dir}"
            )
        return self._task

    def stop(self) -> None:
        """Ask the polling loop to end (it finishes a poll in progress first); call it from
        the event loop's thread."""
        if self._stopping is not None:
            self._stopping.set()

    async def aclose(self) -> None:
        """Stop the polling loop and wait until it has ended."""
        self.stop()
        task, self._task = self._task, None
        if task is not None:
            await task
        self._stopping = None


def _age(loaded: _Loaded | None) -> float | None:
    if loaded is None:
        return None
    return max(0.0, (datetime.now(UTC) - loaded.snapshot.created_at).total_seconds())


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise SnapshotError(f"snapshot blob {path} does not exist") from exc
    except OSError as exc:
        raise SnapshotError(f"cannot read snapshot blob {path}: {exc}") from exc


def _verify(path: Path, data: bytes, expected: str, source: str) -> None:
    actual = files.sha256_hex(data)
    if actual != expected:
        raise SnapshotError(
            f"{path} has SHA-256 {actual} but {source} says {expected}: corrupt or replaced"
        )


def _decode(path: Path, data: bytes, version: str) -> Snapshot:
    started = time.perf_counter()
    snapshot = blob.decode(data, str(path))
    if snapshot.version != version:
        raise SnapshotError(f"{path} holds snapshot {snapshot.version}, not {version}")
    log.debug("decoded %s in %.1f ms", path, 1000 * (time.perf_counter() - started))
    return snapshot


__all__ = ["ConsumerStats", "SnapshotConsumer"]
