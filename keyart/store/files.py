"""The snapshot blob directory's files: version names, blob and checksum names, the
announcement, durable atomic writes and checksums.

    <dir>/snapshot-<version>.json.gz          an immutable snapshot blob
    <dir>/snapshot-<version>.json.gz.sha256   its checksum, in `sha256sum` format
    <dir>/announce.json                        which blob is current (replaced atomically)

A version is `s<seq>-<UTC timestamp>`; the 6-digit sequence orders versions.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from keyart.errors import SnapshotError

ANNOUNCE = "announce.json"
BLOB_PREFIX = "snapshot-"
BLOB_SUFFIX = ".json.gz"
CHECKSUM_SUFFIX = ".sha256"
TMP_SUFFIX = ".tmp"
STALE_TMP_SECONDS = 3600.0  # a temp file this old belongs to a killed producer

T = TypeVar("T")

_VERSION_RE = re.compile(r"^s(\d{6,})-(\d{8}T\d{6}Z)$")
_HEX64_RE = re.compile(r"^[0-9a-f]{64}$")


def version_name(seq: int, when: datetime) -> str:
    """The version name for a sequence number and a publication time."""
    return f"s{seq:06d}-{when.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"


def version_seq(version: str) -> int:
    """The sequence number that orders a version; SnapshotError for a malformed name."""
    match = _VERSION_RE.match(version)
    if match is None:
        raise SnapshotError(f"{version!r} is not a snapshot version (expected s000042-<UTC time>)")
    return int(match.group(1))


def blob_name(version: str) -> str:
    """The file name of a version's blob."""
    return f"{BLOB_PREFIX}{version}{BLOB_SUFFIX}"


def checksum_name(version: str) -> str:
    """The file name of a version's checksum file."""
    return blob_name(version) + CHECKSUM_SUFFIX


def blob_version(file_name: str) -> str | None:
    """The version a blob file name holds; None for any other file."""
    if not (file_name.startswith(BLOB_PREFIX) and file_name.endswith(BLOB_SUFFIX)):
        return None
    version = file_name[len(BLOB_PREFIX) : -len(BLOB_SUFFIX)]
    return version if _VERSION_RE.match(version) else None


def list_blob_versions(blob_dir: Path) -> list[str]:
    """Every version with a blob file in the directory, oldest first."""
    if not blob_dir.is_dir():
        return []
    versions = [v for p in blob_dir.iterdir() if (v := blob_version(p.name)) is not None]
    return sorted(versions, key=version_seq)


@dataclass(frozen=True, slots=True)
class Announcement:
    """The content of announce.json: which blob is current and how to verify it."""

    version: str
    file: str
    sha256: str
    size: int
    created_at: str
    warehouse_version: str

    @property
    def seq(self) -> int:
        """The sequence number of the announced version."""
        return version_seq(self.version)

    def to_json(self) -> str:
        """The announcement as JSON text."""
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def parse(cls, text: str, source: Path) -> Announcement:
        """Parse and validate announcement text; SnapshotError naming the problem."""
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise SnapshotError(f"{source} is not valid JSON: {exc}") from exc
        if not isinstance(raw, dict):
            raise SnapshotError(f"{source} must hold a JSON object, got {type(raw).__name__}")
        missing = [f for f in cls.__dataclass_fields__ if f not in raw]
        if missing:
            raise SnapshotError(f"{source} lacks field(s) {', '.join(missing)}")
        ann = cls(
            version=_field(raw, "version", str, source),
            file=_field(raw, "file", str, source),
            sha256=_field(raw, "sha256", str, source),
            size=_field(raw, "size", int, source),
            created_at=_field(raw, "created_at", str, source),
            warehouse_version=_field(raw, "warehouse_version", str, source),
        )
        try:
            version_seq(ann.version)
        except SnapshotError as exc:
            raise SnapshotError(f"{source}: {exc}") from exc
        if ann.file != blob_name(ann.version):
            # also refuses paths: the blob must sit in the blob directory itself
            raise SnapshotError(
                f"{source}: file {ann.file!r} is not the blob of version {ann.version} "
                f"(expected {blob_name(ann.version)!r})"
            )
        if not _HEX64_RE.match(ann.sha256):
            raise SnapshotError(f"{source}: sha256 {ann.sha256!r} is not 64 lowercase hex digits")
        if ann.size < 0:
            raise SnapshotError(f"{source}: size {ann.size} is negative")
        return ann


def _field(raw: dict[str, object], name: str, kind: type[T], source: Path) -> T:
    value = raw[name]
    # bool is an int subclass; a size of `true` is garbage, not 1
    if not isinstance(value, kind) or isinstance(value, bool):
        raise SnapshotError(
            f"{source}: field {name!r} must be {kind.__name__}, got {type(value).__name__}"
        )
    return value


def read_announcement(blob_dir: Path) -> Announcement:
    """The current announcement; SnapshotError when it is missing or unreadable."""
    path = blob_dir / ANNOUNCE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SnapshotError(f"no snapshot announced: {path} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SnapshotError(f"cannot read {path}: {exc}") from exc
    return Announcement.parse(text, path)


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of bytes as lowercase hex."""
    return hashlib.sha256(data).hexdigest()


def checksum_line(digest: str, file_name: str) -> str:
    """One line of `sha256sum` output, so `sha256sum -c` can verify a blob by hand."""
    return f"{digest}  {file_name}\n"


def parse_checksum_file(path: Path) -> str:
    """The digest held by a checksum file; SnapshotError when missing or malformed."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SnapshotError(f"checksum file {path} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SnapshotError(f"cannot read checksum file {path}: {exc}") from exc
    digest = text.split(maxsplit=1)[0] if text.strip() else ""
    if not _HEX64_RE.match(digest):
        raise SnapshotError(f"checksum file {path} does not start with a SHA-256 hex digest")
    return digest


def write_durable(path: Path, data: bytes) -> None:
    """Write a new file via a temporary file, fsync and atomic rename (replacing any old one)."""
    tmp = _write_tmp(path, data)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def create_durable(path: Path, data: bytes) -> None:
    """Like write_durable, but SnapshotError if `path` already exists (never replaced)."""
    tmp = _write_tmp(path, data)
    try:
        # link() refuses an existing target, so two producers cannot claim one version
        os.link(tmp, path)
    except FileExistsError as exc:
        raise SnapshotError(f"{path} already exists: is another producer publishing?") from exc
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def _write_tmp(path: Path, data: bytes) -> Path:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}{TMP_SUFFIX}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def fsync_dir(directory: Path) -> None:
    """Make renames and links inside a directory durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_tmp(blob_dir: Path, now: float | None = None) -> None:
    """Delete temporary files a killed producer left behind (old enough not to be in use)."""
    now = time.time() if now is None else now
    for path in blob_dir.glob(f".*{TMP_SUFFIX}"):
        try:
            if now - path.stat().st_mtime > STALE_TMP_SECONDS:
                path.unlink()
        except FileNotFoundError:
            continue


__all__ = [
    "ANNOUNCE",
    "Announcement",
    "blob_name",
    "blob_version",
    "checksum_line",
    "checksum_name",
    "create_durable",
    "fsync_dir",
    "list_blob_versions",
    "parse_checksum_file",
    "read_announcement",
    "remove_stale_tmp",
    "sha256_hex",
    "version_name",
    "version_seq",
    "write_durable",
]
