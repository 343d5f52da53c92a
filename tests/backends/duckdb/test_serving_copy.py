"""Serving copies: every row of every table, sorted for block skipping, written atomically."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest

from keyart import sketches
from keyart.backends.duckdb.serving_copy import (
    DAYS_TABLE,
    INFO_TABLE,
    MAX_INCREMENTS,
    SKETCH_STORAGE,
    CopiedTable,
    MergedTable,
    ServingCache,
    build_serving_file,
)
from keyart.backends.embedded import EmbeddedBackend
from keyart.etl.embedded import ingest
from keyart.sketches.unions import group_sketches
from keyart.warehouse.layout import Version, Warehouse
from keyart.warehouse.tables import ROLLUPS
from tests.backends import handmade
from tests.backends.duckdb.storage import sketch_storage
from tests.etl.rawdata import Raw, random_world, split

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
    built = build_serving_file(version, TABLES, tmp_path / "copy.duckdb")
    assert built is not None and built.path == tmp_path / "copy.duckdb" and built.base is None
    path = built.path
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
    merged = {
        "by_asset_day": MergedTable(
            "asset_country_day", ("day", "title_id", "asset_id"), group_sketches
        )
    }
    built = build_serving_file(version, TABLES, tmp_path / "m.duckdb", merged=merged)
    assert built is not None
    con = duckdb.connect(str(built.path), read_only=True)
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
    built = build_serving_file(
        version, EmbeddedBackend.tables, tmp_path / "e.duckdb", merged=EmbeddedBackend.merged
    )
    assert built is not None
    con = duckdb.connect(str(built.path), read_only=True)
    try:
        names = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert names == set(EmbeddedBackend.tables) | set(EmbeddedBackend.merged) | {
            DAYS_TABLE,
            INFO_TABLE,
        }
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


# ---------------------------------------------------------------- incremental builds


def _ingest(raw: Raw, wh: Path, name: str) -> Version:
    ingest(raw.write(wh.parent / name), wh, publish_snapshot=False)
    return Warehouse(wh).current()


def _info(path: Path) -> dict[str, str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return dict(con.execute(f"SELECT key, value FROM {INFO_TABLE}").fetchall())
    finally:
        con.close()


def _same_contents(got: Path, want: Path, lg_k: int) -> None:
    """Both files hold the same rows in every table: copied tables byte for byte, merged
    tables with equal counts and equal sketch estimates per key."""
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"ATTACH '{got}' AS got (READ_ONLY)")
        con.execute(f"ATTACH '{want}' AS want (READ_ONLY)")
        for name in EmbeddedBackend.tables:
            diff = con.execute(
                f"SELECT count(*) FROM ((SELECT * FROM got.{name} EXCEPT ALL "
                f"SELECT * FROM want.{name}) UNION ALL (SELECT * FROM want.{name} "
                f"EXCEPT ALL SELECT * FROM got.{name}))"
            ).fetchall()
            assert diff == [(0,)], name
        for name, spec in EmbeddedBackend.merged.items():
            order = ", ".join(spec.keys)
            rows = {
                db: con.execute(f"SELECT * FROM {db}.{name} ORDER BY {order}").fetchall()
                for db in ("got", "want")
            }
            assert len(rows["got"]) == len(rows["want"]) > 0, name
            width = len(spec.keys) + len(spec.counts)
            for g, w in zip(rows["got"], rows["want"], strict=True):
                assert g[:width] == w[:width], name
                for gb, wb in zip(g[width:], w[width:], strict=True):
                    assert (gb is None) == (wb is None)
                    if gb is not None:
                        got_estimate = sketches.estimate_blobs([gb], lg_k)
                        assert got_estimate == sketches.estimate_blobs([wb], lg_k)
    finally:
        con.close()


def test_a_new_version_rebuilds_only_its_changed_days(tmp_path: Path) -> None:
    raw = random_world(seed=41, days=4)
    wh = tmp_path / "wh"
    v1 = _ingest(split(raw, {0, 1, 2}), wh, "r012")
    tables, merged = EmbeddedBackend.tables, EmbeddedBackend.merged
    first = build_serving_file(v1, tables, tmp_path / "c" / "v1.duckdb", merged=merged)
    assert first is not None and first.base is None
    # a day added, then a day re-ingested with half its impressions and no plays
    _ingest(split(raw, {3}), wh, "r3")
    day1 = split(raw, {1})
    day1.impressions = day1.impressions[: len(day1.impressions) // 2]
    day1.playbacks = []
    v3 = _ingest(day1, wh, "r1")
    step = build_serving_file(
        v3, tables, tmp_path / "c" / "v3.duckdb", merged=merged, base=first.path
    )
    full = build_serving_file(v3, tables, tmp_path / "c" / "full.duckdb", merged=merged)
    assert step is not None and full is not None
    # days 0 and 2 carried over in each copied table; days 1 and 3 read from the version
    assert (step.base, step.reused, step.rebuilt) == (v1.name, 2 * len(tables), 2 * len(tables))
    assert full.base is None
    _same_contents(step.path, full.path, v3.lg_k)
    # the base file is left as it was
    assert _info(first.path) == {
        "version": v1.name,
        "base": "",
        "increments": "0",
        "storage": SKETCH_STORAGE,
    }


def test_too_little_to_reuse_or_too_many_steps_builds_in_full(tmp_path: Path) -> None:
    tables, merged = EmbeddedBackend.tables, EmbeddedBackend.merged
    raw = random_world(seed=42, days=3)
    v1 = _ingest(raw, tmp_path / "a", "ra")
    other = _ingest(random_world(seed=43, days=3), tmp_path / "b", "rb")
    first = build_serving_file(v1, tables, tmp_path / "c" / "a.duckdb", merged=merged)
    assert first is not None
    # every day differs: nothing to carry over
    rebuilt = build_serving_file(other, tables, tmp_path / "c" / "b.duckdb", base=first.path)
    assert rebuilt is not None and rebuilt.base is None
    # the same version again and again: incremental until the limit, then full
    base = first.path
    for step in range(MAX_INCREMENTS + 1):
        built = build_serving_file(
            v1, tables, tmp_path / "c" / f"a{step}.duckdb", merged=merged, base=base
        )
        assert built is not None
        assert (built.base is None) == (step == MAX_INCREMENTS), step
        base = built.path


def test_the_cache_builds_a_new_version_from_the_previous_file(tmp_path: Path) -> None:
    raw = random_world(seed=44, days=3)
    wh = tmp_path / "wh"
    v1 = _ingest(split(raw, {0, 1}), wh, "r01")
    cache = ServingCache(tmp_path / "cache", EmbeddedBackend.tables, label="e")
    assert cache.lookup(v1) is None and cache.wait(timeout=120)
    assert cache.lookup(v1) is not None
    v2 = _ingest(split(raw, {2}), wh, "r2")
    assert cache.lookup(v2) is None and cache.wait(timeout=120)
    path = cache.lookup(v2)
    assert path is not None
    assert _info(path) == {
        "version": v2.name,
        "base": v1.name,
        "increments": "1",
        "storage": SKETCH_STORAGE,
    }


def test_sketch_columns_are_stored_uncompressed_in_full_and_incremental_builds(
    tmp_path: Path,
) -> None:
    raw = random_world(seed=46, days=3)
    wh = tmp_path / "wh"
    v1 = _ingest(split(raw, {0, 1}), wh, "r01")
    tables, merged = EmbeddedBackend.tables, EmbeddedBackend.merged
    first = build_serving_file(v1, tables, tmp_path / "c" / "v1.duckdb", merged=merged)
    v2 = _ingest(split(raw, {2}), wh, "r2")
    step = build_serving_file(
        v2, tables, tmp_path / "c" / "v2.duckdb", merged=merged, base=first.path if first else None
    )
    assert first is not None and step is not None and step.base == v1.name
    for built in (first, step):
        storage = sketch_storage(built.path)
        assert {t for t, _ in storage} == {*tables, *merged}
        assert all(kinds == {"Uncompressed"} for kinds in storage.values()), storage


def test_a_base_with_other_sketch_storage_is_not_extended(tmp_path: Path) -> None:
    """A file written before the storage changed (no 'storage' in its info) still serves,
    but the next version's copy is built in full rather than on top of its tables."""
    raw = random_world(seed=47, days=3)
    wh = tmp_path / "wh"
    v1 = _ingest(split(raw, {0, 1}), wh, "r01")
    tables, merged = EmbeddedBackend.tables, EmbeddedBackend.merged
    first = build_serving_file(v1, tables, tmp_path / "c" / "v1.duckdb", merged=merged)
    assert first is not None
    con = duckdb.connect(str(first.path))
    con.execute(f"DELETE FROM {INFO_TABLE} WHERE key = 'storage'")
    con.close()
    v2 = _ingest(split(raw, {2}), wh, "r2")
    built = build_serving_file(
        v2, tables, tmp_path / "c" / "v2.duckdb", merged=merged, base=first.path
    )
    assert built is not None and built.base is None and built.reused == 0


def test_an_unusable_base_gives_a_full_build(tmp_path: Path) -> None:
    v1 = _ingest(random_world(seed=45, days=2), tmp_path / "wh", "r")
    tables = EmbeddedBackend.tables
    corrupt = tmp_path / "corrupt.duckdb"
    corrupt.write_bytes(b"not a database" * 100)
    for base in (tmp_path / "gone.duckdb", corrupt):
        built = build_serving_file(v1, tables, tmp_path / "c" / f"{base.stem}.duckdb", base=base)
        assert built is not None and built.base is None and built.reused == 0
    assert sorted(p.name for p in (tmp_path / "c").iterdir() if not p.name.startswith(".")) == [
        "corrupt.duckdb",
        "gone.duckdb",
    ]
