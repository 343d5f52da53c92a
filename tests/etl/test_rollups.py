"""Daily rollups and all-time tables equal the exact raw truth (tests/truth.py)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any

import datasketches as ds
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from keyart import sketches
from keyart.config import EtlSettings
from keyart.warehouse import Warehouse
from keyart.warehouse.tables import (
    ALLTIME_ASSETS,
    ALLTIME_TITLES,
    ASSET_AFFINITY_DAY,
    ASSET_AUDIENCE_DAY,
    ASSET_COUNTRY_DAY,
)
from tests.truth import Event, Exact, Truth

from .conftest import Ingest
from .rawdata import Raw, at, random_world, split

MEASURES = ("impressions", "qualified_plays", "play_seconds", "engaged_plays")


def rollup_rows(tmp_path: Path, name: str) -> list[dict[str, Any]]:
    version = Warehouse(tmp_path / "wh").current()
    table = pads.dataset(
        version.rollup_glob(name).rsplit("/day=", 1)[0], format="parquet", partitioning=None
    ).to_table()
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def exact_within(blob: bytes | None, members: set[int], lg_k: int = 14) -> bool:
    est = sketches.estimate_blobs([blob], lg_k)
    return est.lower <= len(members) <= est.upper and (blob is None) == (not members)


def test_country_rollup_equals_truth(run_ingest: Ingest, tmp_path: Path) -> None:
    raw = random_world(seed=3)
    # a play landing on a cell (next day, JP) that has no impressions that day
    raw.imp(1, "t0a0", at(2, 23), "JP")
    raw.play(1, "t0", at(3, 0.25), 1000)
    run_ingest(raw)
    truth = raw.truth().cells()
    rows = rollup_rows(tmp_path, ASSET_COUNTRY_DAY.name)
    got = {(r["day"], r["asset_id"], r["country"]): r for r in rows}
    assert set(got) == set(truth)
    title_of = {a["asset_id"]: (a["title_id"], a["asset_type"]) for a in raw.assets}
    for key, want in truth.items():
        row = got[key]
        assert (row["title_id"], row["asset_type"]) == title_of[key[1]]
        assert {m: row[m] for m in MEASURES} == {m: getattr(want, m) for m in MEASURES}, key
        assert exact_within(row["imp_sketch"], want.imp_members)
        assert exact_within(row["play_sketch"], want.play_members)
    # a play can land on a cell without impressions that day
    assert any(r["impressions"] == 0 and r["imp_sketch"] is None for r in rows)
    assert pq.read_schema(
        next(iter(Path(tmp_path / "wh").rglob("asset_country_day/*/*.parquet")))
    ).equals(ASSET_COUNTRY_DAY.schema)


def test_affinity_rollups_equal_truth(run_ingest: Ingest, tmp_path: Path) -> None:
    raw = random_world(seed=5)
    run_ingest(raw)
    truth = raw.truth()

    def by(key: Callable[[Event], Iterable[tuple[Any, ...]]]) -> dict[tuple[Any, ...], Exact]:
        return truth.grouped(date.min, date.max, key)

    # per (cell, label set), and per (cell, label) with a null label for label-less members
    audience = by(lambda e: [(e.day, e.asset, e.country, tuple(sorted(e.affinities)))])
    exploded = by(
        lambda e: [(e.day, e.asset, e.country, x) for x in tuple(sorted(e.affinities)) or (None,)]
    )
    rows = rollup_rows(tmp_path, ASSET_AUDIENCE_DAY.name)
    got = {(r["day"], r["asset_id"], r["country"], tuple(r["affinities"])): r for r in rows}
    assert set(got) == set(audience)
    for key, want in audience.items():
        assert {m: got[key][m] for m in MEASURES} == {m: getattr(want, m) for m in MEASURES}
        assert exact_within(got[key]["imp_sketch"], want.imp_members)
        assert exact_within(got[key]["play_sketch"], want.play_members)
    rows = rollup_rows(tmp_path, ASSET_AFFINITY_DAY.name)
    got = {(r["day"], r["asset_id"], r["country"], r["affinity"]): r for r in rows}
    assert set(got) == set(exploded)
    for key, want in exploded.items():
        assert {m: got[key][m] for m in MEASURES} == {m: getattr(want, m) for m in MEASURES}
        assert exact_within(got[key]["imp_sketch"], want.imp_members)
    # sanity: the exploded table's NULL-affinity rows plus labelled rows cover every cell
    assert {k[:3] for k in exploded} == set(truth.cells())


def test_large_group_bounds_and_interop(run_ingest: Ingest, tmp_path: Path) -> None:
    raw = Raw()
    raw.title("t1")
    raw.asset("a1", "t1")
    raw.asset("a2", "t1")
    members = random.Random(4).sample(range(1, 10**12), 6000)
    for i, m in enumerate(members):
        raw.imp(m, "a1" if i % 3 else "a2", at(0, (i % 1000) / 100))
    run_ingest(raw, settings=EtlSettings(lg_k=12))
    rows = [r for r in rollup_rows(tmp_path, ASSET_COUNTRY_DAY.name) if r["asset_id"] == "a1"]
    (row,) = rows
    exact = {m for i, m in enumerate(members) if i % 3}
    # the stored sketch deserialises with datasketches, holds what the library builds from
    # the same ids, and merges with it counting each member once
    stored = ds.hll_sketch.deserialize(row["imp_sketch"])
    assert stored.lg_config_k == 12
    own = ds.hll_sketch(12, ds.tgt_hll_type.HLL_4)
    for m in sorted(exact):
        own.update(m)
    assert bytes(own.serialize_compact()) == row["imp_sketch"]
    assert stored.get_lower_bound(2) <= len(exact) <= stored.get_upper_bound(2)
    union = ds.hll_union(12)
    union.update(stored)
    union.update(own)
    merged = union.get_result()
    # union estimates drop the HIP estimator, so equal sets agree within the error only
    assert merged.get_estimate() == pytest.approx(stored.get_estimate(), rel=0.02)
    assert merged.get_lower_bound(2) <= len(exact) <= merged.get_upper_bound(2)
    # the all-time title sketch counts a member seen on both assets once
    version = Warehouse(tmp_path / "wh").current()
    titles = pq.read_table(version.alltime_path("titles")).to_pylist()
    (title,) = titles
    est = sketches.estimate_blobs([title["imp_sketch"]], 12)
    assert est.lower <= len(members) <= est.upper
    assert title["impressions"] == len(members)


def check_alltime(version_root: Path, raw: Raw) -> None:
    """The all-time asset and title tables of the current version equal the truth of `raw`."""
    version = Warehouse(version_root).current()
    truth = raw.truth()
    check_alltime_table(version.alltime_path("assets"), ALLTIME_ASSETS, raw, truth, "asset")
    check_alltime_table(version.alltime_path("titles"), ALLTIME_TITLES, raw, truth, "title")


def check_alltime_table(path: Path, schema: pa.Schema, raw: Raw, truth: Truth, of: str) -> None:
    """One all-time table: a row per asset (or title) of the catalog, with or without
    events, holding the exact metrics, countries, affinities and days of its events."""
    table = pq.read_table(path)
    assert table.schema.equals(schema), path

    def key(e: Event) -> str:
        return e.asset if of == "asset" else e.title

    got = {r[f"{of}_id"]: r for r in table.to_pylist()}
    assert set(got) == {a[f"{of}_id"] for a in raw.assets}
    per_id = truth.grouped(date.min, date.max, lambda e: (key(e),))
    events = [*truth.impressions, *truth.plays]
    for ident, row in got.items():
        want = per_id.get(ident, Exact())
        for m in MEASURES:
            assert row[m] == getattr(want, m), (ident, m)
        assert exact_within(row["imp_sketch"], want.imp_members)
        assert exact_within(row["play_sketch"], want.play_members)
        shown = {e.country for e in truth.impressions if key(e) == ident}
        assert row["countries"] == sorted(shown)
        mine = [e for e in events if key(e) == ident]
        assert row["affinities"] == sorted({x for e in mine for x in e.affinities})
        days = [e.day for e in mine]
        assert (row["first_day"], row["last_day"]) == (
            (min(days), max(days)) if days else (None, None)
        )


def test_alltime_equals_truth(run_ingest: Ingest, tmp_path: Path) -> None:
    raw = random_world(seed=11, days=4)
    raw.asset("t0idle", "t0")  # an asset without events still gets a row
    run_ingest(raw)
    check_alltime(tmp_path / "wh", raw)


def test_alltime_over_kept_and_new_days_equals_truth(run_ingest: Ingest, tmp_path: Path) -> None:
    # the second run builds days 2-3 and keeps days 0-1 of the first run's version
    raw = random_world(seed=12, days=4)
    raw.asset("t0idle", "t0")
    run_ingest(split(raw, {0, 1}), name="d01")
    run_ingest(split(raw, {2, 3}), name="d23")
    assert len(Warehouse(tmp_path / "wh").current().days) == 4
    check_alltime(tmp_path / "wh", raw)
