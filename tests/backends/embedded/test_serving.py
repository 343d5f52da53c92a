"""Serving copies: every row of every table, sorted for block skipping, written atomically."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest

from keyart import sketches
from keyart.backends.embedded import EmbeddedBackend
from keyart.backends.embedded.serving import (
    CopiedTable,
    MergedTable,
    ServingCache,
    build_serving_file,
)
from keyart.warehouse.layout import Version
from keyart.warehouse.tables import ROLLUPS
from tests.backends import handmade

# holds an OS lock on the file named by argv[1] until killed
HOLD_LOCK = """
import sys, time
from filelock import FileLock
lock = FileLock(sys.argv[1])
lock.acquire()
print("locked", flush=True)
time.sleep(600)
"""

TABLES = {r.name: CopiedTable(f"rollups/{r.name}", r.schema) for r in ROLLUPS}


@pytest.fixture(scope="module")
def version(tmp_path_factory: pytest.TempPathFactory) -> Version:
    root = tmp_path_factory.mktemp("serving") / "wh"
    return handmade.publish(root, handmade.make_dataset(seed=9, n_impressions=1500))


def test_copy_holds_every_row_sorted(version: Version, tmp_path: Path) -> None:
    path = build_serving_file(version, TABLES, tmp_path / "copy.duckdb")
    assert path == tmp_path / "copy.duckdb"
    assert [p.name for p in tmp_path.iterdir()] == ["copy.duckdb"]  # no temporary left
    con = duckdb.connect(str(path), read_only=True)
    try:
        for name in TABLES:
            source = f"read_parquet('{version.rollup_glob(name)}')"
            # the same multiset of rows (sketch blobs included)
            diff = con.execute(
                f"SELECT count(*) FROM ((SELECT * FROM {name} EXCEPT ALL SELECT * FROM {source})"
                f" UNION ALL (SELECT * FROM {source} EXCEPT ALL SELECT * FROM {name}))"
            ).fetchone()
            assert diff == (0,)
            keys = con.execute(f"SELECT title_id, asset_id, day FROM {name}").fetchall()
            assert keys == sorted(keys)
    finally:
        con.close()


def test_merged_tables_sum_counts_and_unite_sketches(version: Version, tmp_path: Path) -> None:
    merged = {"by_asset_day": MergedTable("asset_country_day", ("day", "title_id", "asset_id"))}
    path = build_serving_file(version, TABLES, tmp_path / "m.duckdb", merged=merged)
    assert path is not None
    con = duckdb.connect(str(path), read_only=True)
    try:
        source = f"read_parquet('{version.rollup_glob('asset_country_day')}')"
        want = con.execute(
            f"SELECT day, title_id, asset_id, sum(impressions), sum(qualified_plays),"
            f" sum(play_seconds), sum(engaged_plays), list(imp_sketch), list(play_sketch)"
            f" FROM {source} GROUP BY ALL ORDER BY title_id, asset_id, day"
        ).fetchall()
        got = con.execute("SELECT * FROM by_asset_day").fetchall()
        assert len(got) == len(want) > 50
        for g, w in zip(got, want, strict=True):
            assert g[:7] == w[:7]
            for blob, blobs in ((g[7], w[7]), (g[8], w[8])):
                expected = sketches.estimate_blobs(blobs, handmade.LG_K)
                assert sketches.estimate_blobs([blob], handmade.LG_K) == expected
    finally:
        con.close()


def test_embedded_serving_copy_has_every_table(version: Version, tmp_path: Path) -> None:
    path = build_serving_file(
        version, EmbeddedBackend.tables, tmp_path / "e.duckdb", merged=EmbeddedBackend.merged
    )
    assert path is not None
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert names == set(EmbeddedBackend.tables) | set(EmbeddedBackend.merged)
    finally:
        con.close()


def test_a_stopped_build_leaves_nothing(version: Version, tmp_path: Path) -> None:
    stop = threading.Event()
    stop.set()
    assert build_serving_file(version, TABLES, tmp_path / "x.duckdb", stop=stop) is None
    assert list(tmp_path.iterdir()) == []


def test_cache_builds_once_and_finds_the_file(version: Version, tmp_path: Path) -> None:
    cache = ServingCache(tmp_path, TABLES, label="t")
    assert cache.lookup(version) is None  # starts the build
    assert cache.wait(timeout=120)
    found = cache.lookup(version)
    assert found is not None and found.parent == tmp_path and found.name.startswith(version.name)
    off = ServingCache(None, TABLES, label="t")
    assert off.lookup(version) is None and off.wait()


def test_a_build_held_by_another_process_is_not_repeated(version: Version, tmp_path: Path) -> None:
    cache = ServingCache(tmp_path, TABLES, label="t")
    path = cache.path_for(version)
    assert path is not None
    lock = path.with_name(f".{path.name}.lock")
    # a live build in another process holds the lock and has written part of its file
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(lock)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        partial = path.with_name(f".{path.name}.0123abcd.tmp")
        partial.write_bytes(b"half a database")
        assert cache.lookup(version) is None
        assert cache.wait(timeout=60)
        assert not path.exists() and partial.exists()
    finally:
        # killed: the kernel releases its lock, as it would for a crashed server
        holder.kill()
        holder.wait()
    assert cache.lookup(version) is None
    assert cache.wait(timeout=120)
    assert cache.lookup(version) == path
    assert not partial.exists()  # the dead build's temporary is cleaned up
