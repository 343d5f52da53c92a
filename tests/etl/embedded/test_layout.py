"""The serving layout an ingest writes into its version: served at once, exactly; nothing
published by a killed run; a daily ingest's layout (parent's copy plus the new days) holds
the same rows as one written by ingesting everything at once."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import duckdb
import pytest

from keyart import sketches
from keyart.backends.embedded import EmbeddedBackend
from keyart.config import EtlSettings
from keyart.etl.embedded import ingest
from keyart.query.ir import Dimension, Filter, Granularity, Interval, MetricQuery
from keyart.query.results import QueryResult
from keyart.warehouse import integrity
from keyart.warehouse.layout import Version, Warehouse
from keyart.warehouse.serving_layout import (
    BLOCK_ROWS,
    INFO_TABLE,
    layout_path,
    published_layout,
)
from tests.backends.duckdb.storage import sketch_storage
from tests.etl import hold
from tests.etl.conftest import ACCEPT
from tests.etl.rawdata import Raw, at, random_world, split
from tests.truth import Exact, Truth

LABEL = EmbeddedBackend.name
TABLES = [*EmbeddedBackend.tables, *EmbeddedBackend.merged]
DAYS = 4


def _ingest(raw: Raw, folder: Path, wh: Path) -> Version:
    ingest(
        raw.write(folder),
        wh,
        EtlSettings(),
        publish_snapshot=False,
        gates=ACCEPT,
        serving_layout=True,
    )
    return Warehouse(wh).current()


def _check(result: QueryResult, want: dict[object, Exact], key: int) -> None:
    """Counts equal to the truth's, distinct counts inside the answer's bounds."""
    got = {row.dims[key][1] if key >= 0 else row.bucket: row.metrics for row in result.rows}
    assert set(got) == {k for k, v in want.items() if v.impressions or v.qualified_plays}
    for k, metrics in got.items():
        exact = want[k]
        assert metrics.impressions == exact.impressions
        assert metrics.qualified_plays == exact.qualified_plays
        assert metrics.play_seconds == exact.play_seconds
        assert metrics.engaged_plays == exact.engaged_plays
        for estimate, members in (
            (metrics.unique_impressions, exact.unique_impressions),
            (metrics.unique_players, exact.unique_players),
        ):
            assert estimate.lower <= members <= estimate.upper


async def _answers_match_truth(wh: Path, truth: Truth, cache: Path) -> None:
    """Every asset's daily series and per-country metrics, and a title's per-affinity
    metrics, from the version's serving layout (nothing built by the server)."""
    backend = EmbeddedBackend(wh, cache_dir=cache)
    try:
        assert backend.serving_state() == "ready"
        first, last = at(0).date(), at(DAYS - 1).date()
        window = Interval(first, last)
        for asset in sorted({e.asset for e in truth.impressions}):
            series = await backend.execute(
                MetricQuery(window, Granularity.DAY, Filter(asset_ids=(asset,)))
            )
            _check(series, truth.series(first, last, "day", assets=[asset]), -1)
            by_country = await backend.execute(
                MetricQuery(
                    window, filter=Filter(asset_ids=(asset,)), group_by=(Dimension.COUNTRY,)
                )
            )
            _check(by_country, truth.by_country(first, last, assets=[asset]), 0)
        by_affinity = await backend.execute(
            MetricQuery(window, filter=Filter(title_ids=("t1",)), group_by=(Dimension.AFFINITY,))
        )
        _check(by_affinity, truth.by_affinity(first, last, titles=["t1"]), 0)
    finally:
        await backend.aclose()
    assert not list(cache.glob("*.duckdb"))  # the server built nothing of its own


def _rows(version: Version) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table of a version's layout, sorted."""
    path = published_layout(version, LABEL)
    assert path is not None
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in TABLES}
    finally:
        con.close()


def _estimated(rows: dict[str, list[tuple[object, ...]]]) -> dict[str, list[tuple[object, ...]]]:
    """The rows with each sketch replaced by its estimate: a sketch of a member set built
    at once and one united from per-country sketches estimate alike, byte for byte apart."""

    def plain(value: object) -> object:
        if isinstance(value, bytes):
            return round(sketches.estimate_blobs([value], EtlSettings().lg_k).value, 6)
        return value

    return {
        table: sorted((tuple(plain(v) for v in row) for row in got), key=repr)
        for table, got in rows.items()
    }


async def test_an_ingest_is_served_from_its_layout_at_once(tmp_path: Path) -> None:
    raw = random_world(21, days=DAYS, n_imps=800, n_plays=300)
    version = _ingest(raw, tmp_path / "raw", tmp_path / "wh")
    path = published_layout(version, LABEL)
    assert path == layout_path(version.root, LABEL)
    # published with the version: in its file table, with its checksum
    rel = str(path.relative_to(version.root))
    assert version.manifest[integrity.FILES][rel][1] == integrity.sha256_file(path)
    con = duckdb.connect(str(path), read_only=True)
    try:  # one block: every table's rows in (title, asset, day) order as stored
        for table in TABLES:
            keys = con.execute(f"SELECT title_id, asset_id, day FROM {table}").fetchall()
            assert keys == sorted(keys) and len(keys) > 20
    finally:
        con.close()
    await _answers_match_truth(tmp_path / "wh", raw.truth(), tmp_path / "cache")


@pytest.mark.parametrize("block_rows", [BLOCK_ROWS, 40])
async def test_a_daily_ingest_appends_to_the_parent_layout_as_a_full_run_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_rows: int
) -> None:
    """Also with blocks of a few rows (several blocks per run, each sorted on its own)."""
    monkeypatch.setattr("keyart.etl.embedded.layout.BLOCK_ROWS", block_rows)
    raw = random_world(22, days=DAYS, n_imps=800, n_plays=300)
    whole = _ingest(raw, tmp_path / "all", tmp_path / "wh-all")
    # day by day: the first days, then the last day plus a re-ingest of the second
    _ingest(split(raw, set(range(DAYS - 1))), tmp_path / "first", tmp_path / "wh")
    daily = _ingest(split(raw, {1, DAYS - 1}), tmp_path / "last", tmp_path / "wh")
    written = daily.manifest["report"]["extra"]["serving_layout"]
    assert written["seeded_from"] == "parent layout"
    assert written["blocks"] == (1 if block_rows > 1000 else 2)  # the two days re-ingested
    assert _rows(daily) == _rows(whole)
    await _answers_match_truth(tmp_path / "wh", raw.truth(), tmp_path / "cache")


def test_a_big_run_writes_several_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks close after a quarter of the run's days once they hold MIN_BLOCK_ROWS, so
    that the last block alone is left to write after the days; the rows stay the same."""
    raw = random_world(25, days=DAYS, n_imps=600, n_plays=200)
    one = _ingest(raw, tmp_path / "one", tmp_path / "wh-one")
    assert one.manifest["report"]["extra"]["serving_layout"]["blocks"] == 1
    monkeypatch.setattr("keyart.etl.embedded.layout.MIN_BLOCK_ROWS", 1)
    several = _ingest(raw, tmp_path / "several", tmp_path / "wh-several")
    assert several.manifest["report"]["extra"]["serving_layout"]["blocks"] == DAYS
    assert _rows(several) == _rows(one)


def test_a_parent_without_layout_has_its_kept_days_loaded(tmp_path: Path) -> None:
    """A parent written without a layout (the Spark engine, or older code): the kept days
    come from its day files."""
    raw = random_world(23, days=DAYS, n_imps=600, n_plays=200)
    whole = _ingest(raw, tmp_path / "all", tmp_path / "wh-all")
    parent = _ingest(split(raw, set(range(DAYS - 1))), tmp_path / "first", tmp_path / "wh")
    path = published_layout(parent, LABEL)
    assert path is not None
    path.unlink()
    daily = _ingest(split(raw, {DAYS - 1}), tmp_path / "last", tmp_path / "wh")
    assert daily.manifest["report"]["extra"]["serving_layout"]["seeded_from"] == (
        "parent day files"
    )
    # kept days merged over countries by uniting sketches, the new day from its facts
    assert _estimated(_rows(daily)) == _estimated(_rows(whole))


def test_the_layout_stores_sketches_uncompressed_and_older_storage_is_not_extended(
    tmp_path: Path,
) -> None:
    """A parent layout written with other sketch storage (before it changed) is not copied:
    the kept days come from the parent's day files, and the new layout has the new storage."""
    raw = random_world(26, days=DAYS, n_imps=600, n_plays=200)
    whole = _ingest(raw, tmp_path / "all", tmp_path / "wh-all")
    parent = _ingest(split(raw, set(range(DAYS - 1))), tmp_path / "first", tmp_path / "wh")
    path = published_layout(parent, LABEL)
    assert path is not None
    storage = sketch_storage(path)
    assert {t for t, _ in storage} == set(TABLES)
    assert all(kinds == {"Uncompressed"} for kinds in storage.values()), storage
    con = duckdb.connect(str(path))
    try:
        con.execute(f"DELETE FROM {INFO_TABLE} WHERE key = 'storage'")
    finally:
        con.close()
    daily = _ingest(split(raw, {DAYS - 1}), tmp_path / "last", tmp_path / "wh")
    assert daily.manifest["report"]["extra"]["serving_layout"]["seeded_from"] == (
        "parent day files"
    )
    assert _estimated(_rows(daily)) == _estimated(_rows(whole))


@pytest.mark.parametrize("step", ["rollups", "commit"])
async def test_a_killed_ingest_leaves_the_previous_version_served(
    tmp_path: Path, step: str
) -> None:
    raw = random_world(24, days=DAYS, n_imps=600, n_plays=200)
    first = split(raw, set(range(DAYS - 1)))
    before = _ingest(first, tmp_path / "first", tmp_path / "wh")
    rows_before = _rows(before)
    later = split(raw, {DAYS - 1}).write(tmp_path / "last")
    marker = tmp_path / "held"
    proc = subprocess.Popen(
        hold.command(
            step,
            marker,
            later,
            tmp_path / "wh",
            "--no-snapshot",
            "--serving-layout",
            "--accept-anomalies",
        )
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the ingest never reached its hold point"
        proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    wh = Warehouse(tmp_path / "wh")
    assert wh.current().name == before.name
    assert _rows(wh.current()) == rows_before  # the previous layout, untouched
    assert not [p for p in wh.versions_dir.iterdir() if p.name.startswith("v")][1:]
    await _answers_match_truth(tmp_path / "wh", first.truth(), tmp_path / "cache")
