"""The file table of a warehouse version (every data file's size and SHA-256) and the
checks a commit and a publish make with it, so that no version names a day it lacks.

The table lives in the version's manifest under `files`: {relative path: [size, sha256]}.
Files hard-linked from the parent reuse the parent's checksum (same inode, same bytes), so
only the files a run writes are hashed.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

from keyart.errors import WarehouseError

FILES = "files"  # manifest key of the file table
_DATA_DIRS = ("dims", "alltime", "rollups", "events", "serving")
_DATA_SUFFIXES = (".parquet", ".duckdb")  # Parquet tables; the serving layout's database
_HASH_THREADS = 2  # hashlib releases the GIL while hashing


def data_files(root: Path) -> list[str]:
    """Relative paths of every data file (Parquet, the serving layout) of a version folder,
    sorted."""
    found: list[str] = []
    for top in _DATA_DIRS:
        base = root / top
        if not base.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = [d for d in dirnames if not d.startswith((".", "_"))]
            found.extend(
                os.path.relpath(os.path.join(dirpath, f), root)
                for f in filenames
                if f.endswith(_DATA_SUFFIXES) and not f.startswith((".", "_"))
            )
    return sorted(found)


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file's bytes, hex."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def file_table(
    root: Path,
    parent_root: Path | None,
    parent_table: dict[str, Any] | None,
    hashed: dict[str, list[Any]] | None = None,
) -> dict[str, list[Any]]:
    """{relative path: [size, sha256]} of a version folder; a file that is the parent's
    same file (hard link) takes the parent's recorded checksum, and one `hashed` as it was
    written (same size) takes that, instead of being read again."""
    table: dict[str, list[Any]] = {}
    todo: list[str] = []
    for rel in data_files(root):
        st = os.stat(root / rel)
        early = (hashed or {}).get(rel)
        if early is not None and int(early[0]) == st.st_size:
            table[rel] = [st.st_size, early[1]]
            continue
        known = (parent_table or {}).get(rel)
        if known is not None and parent_root is not None and int(known[0]) == st.st_size:
            try:
                same = os.stat(parent_root / rel).st_ino == st.st_ino
            except OSError:
                same = False
            if same:
                table[rel] = [st.st_size, known[1]]
                continue
        table[rel] = [st.st_size, None]
        todo.append(rel)
    with ThreadPoolExecutor(_HASH_THREADS, thread_name_prefix="keyart-hash") as pool:
        for rel, digest in zip(todo, pool.map(lambda r: sha256_file(root / r), todo), strict=True):
            table[rel][1] = digest
    return table


def day_of(rel: str) -> date | None:
    """The day of a day-partition file's relative path, None for other files."""
    for part in Path(rel).parts:
        if part.startswith("day="):
            try:
                return date.fromisoformat(part[4:])
            except ValueError:
                return None
    return None


def check_commit(
    name: str,
    days: Iterable[str],
    table: dict[str, list[Any]],
    kept: Iterable[str],
    parent_table: dict[str, Any] | None,
    parent_name: str | None,
) -> None:
    """Refuse a commit whose kept days (the parent's days this run did not rebuild) lost a
    file of the parent, changed its bytes, have no file at all or are not listed; the days a
    run rebuilds hold what it wrote (a day whose every event was quarantined holds none)."""
    problems: list[str] = []
    kept_set = set(kept)
    if parent_table is not None:
        for rel, (size, digest) in sorted(parent_table.items()):
            day = day_of(rel)
            if day is None or day.isoformat() not in kept_set:
                continue
            mine = table.get(rel)
            if mine is None:
                problems.append(f"{rel} of kept day {day} is missing")
            elif int(mine[0]) != int(size) or mine[1] != digest:
                problems.append(f"{rel} of kept day {day} differs from {parent_name}'s")
    with_files = {d.isoformat() for rel in table if (d := day_of(rel)) is not None}
    problems.extend(f"kept day {k} has no files" for k in sorted(kept_set - with_files))
    stray = sorted(kept_set - set(days))
    problems.extend(f"kept day {k} is not listed in the manifest" for k in stray)
    if problems:
        more = f"; … {len(problems) - 5} more" if len(problems) > 5 else ""
        shown = "; ".join(problems[:5]) + more
        raise WarehouseError(f"refusing to commit warehouse version {name}: {shown}")


def check_files(root: Path, table: dict[str, list[Any]], *, checksums: bool) -> list[str]:
    """What is wrong with a version folder against its file table (missing files, other
    sizes, other checksums when `checksums`); empty when it is intact."""
    problems: list[str] = []
    for rel, (size, digest) in sorted(table.items()):
        path = root / rel
        try:
            actual = path.stat().st_size
        except OSError:
            problems.append(f"{rel} is missing")
            continue
        if actual != int(size):
            problems.append(f"{rel} holds {actual} bytes, the manifest says {size}")
        elif checksums and sha256_file(path) != digest:
            problems.append(f"{rel} has another SHA-256 than the manifest says")
    return problems


__all__ = [
    "FILES",
    "check_commit",
    "check_files",
    "data_files",
    "day_of",
    "file_table",
    "sha256_file",
]
