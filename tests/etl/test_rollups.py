"""Daily rollups and all-time tables equal the raw truth computed in plain Python."""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import datasketches as ds
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from keyart import sketches
from keyart.config import EtlSettings
from keyart.warehouse import Warehouse
from keyart.warehouse.tables import (
    ALLTIME_ASSETS,
    ASSET_AFFINITY_DAY,
    ASSET_AUDIENCE_DAY,
    ASSET_COUNTRY_DAY,
)

from .conftest import Ingest
from .rawdata import Raw, at, attribute, expected_country_day, random_world, split

MEASURES = ("impressions", "qualified_plays", "play_seconds", "engaged_plays")


def rollup_rows(tmp_path: Path, name: str) -> list[dict[str, Any]]:
    version = Warehouse(tmp_path / "wh").current()
    table = pads.dataset(
        version.rollup_glob(name).rsplit("/day=", 1)[0], format="parquet", partitioning=None
    ).to_table()
    return table.to_pylist()


def exact_within(blob: bytes | None, members: set[int], lg_k: int = 14) -> bool:
    est = sketches.estimate_blobs([blob], lg_k)
    return est.lower <= len(members) <= est.upper and (blob is None) == (not members)


def labels_of(raw: Raw) -> dict[int, list[str]]:
    return {m["member_id"]: sorted(set(m["affinities"])) for m in raw.members}


def test_country_rollup_equals_truth(run_ingest: Ingest, tmp_path: Path) -> None:
    raw = random_world(seed=3)
    # a play landing on a cell (next day, JP) that has no impressions that day
    raw.imp(1, "t0a0", at(2, 23), "JP")
    raw.play(1, "t0", at(3, 0.25), 1000)
    run_ingest(raw)
    truth = expected_country_day(raw)
    rows = rollup_rows(tmp_path, ASSET_COUNTRY_DAY.name)
    got = {(r["day"], r["asset_id"], r["country"]): r for r in rows}
    assert set(got) == set(truth)
    title_of = {a["asset_id"]: (a["title_id"], a["asset_type"]) for a in raw.assets}
    for key, want in truth.items():
        row = got[key]
        assert (row["title_id"], row["asset_type"]) == title_of[key[1]]
        assert {m: row[m] for m in MEASURES} == {m: want[m] for m in MEASURES}, key
        assert exact_within(row["imp_sketch"], want["imp_members"])
        assert exact_within(row["play_sketch"], want["play_members"])
    # a play can land on a cell without impressions that day
    assert any(r["impressions"] == 0 and r["imp_sketch"] is None for r in rows)
    assert pq.read_schema(
        next(iter(Path(tmp_path / "wh").rglob("asset_country_day/*/*.parquet")))
    ).equals(ASSET_COUNTRY_DAY.schema)


def test_affinity_rollups_equal_truth(run_ingest: Ingest, tmp_path: Path) -> None:
    raw = random_world(seed=5)
    run_ingest(raw)
    labels = labels_of(raw)
    truth = expected_country_day(raw)
    # per (cell, label set) and per (cell, label): recompute from the raw events
    audience: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(
        lambda: {m: 0 for m in MEASURES} | {"imp": set(), "play": set()}
    )
    exploded: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(
        lambda: {m: 0 for m in MEASURES} | {"imp": set(), "play": set()}
    )

    def add(cell: tuple[Any, ...], member: int, **measures: int) -> None:
        ls = labels.get(member, [])
        for key, acc in [((*cell, tuple(ls)), audience)] + [
            ((*cell, label), exploded) for label in (ls or [None])
        ]:
            for k, v in measures.items():
                acc[key][k] += v
            if measures.get("impressions"):
                acc[key]["imp"].add(member)
            if measures.get("qualified_plays"):
                acc[key]["play"].add(member)

    for i in raw.impressions:
        add((i["event_time"].date(), i["asset_id"], i["country"]), i["member_id"], impressions=1)
    for p, i in attribute(raw):
        if i is not None:
            add(
                (p["event_time"].date(), i["asset_id"], i["country"]),
                p["member_id"],
                qualified_plays=1,
                play_seconds=p["duration_s"],
                engaged_plays=int(p["duration_s"] >= 900),
            )
    rows = rollup_rows(tmp_path, ASSET_AUDIENCE_DAY.name)
    got = {(r["day"], r["asset_id"], r["country"], tuple(r["affinities"])): r for r in rows}
    assert set(got) == set(audience)
    for key, want in audience.items():
        assert {m: got[key][m] for m in MEASURES} == {m: want[m] for m in MEASURES}
        assert exact_within(got[key]["imp_sketch"], want["imp"])
        assert exact_within(got[key]["play_sketch"], want["play"])
    rows = rollup_rows(tmp_path, ASSET_AFFINITY_DAY.name)
    got = {(r["day"], r["asset_id"], r["country"], r["affinity"]): r for r in rows}
    assert set(got) == set(exploded)
    for key, want in exploded.items():
        assert {m: got[key][m] for m in MEASURES} == {m: want[m] for m in MEASURES}
        assert exact_within(got[key]["imp_sketch"], want["imp"])
    # sanity: the exploded table's NULL-affinity rows plus labelled rows cover every cell
    assert {k[:3] for k in exploded} == set(truth)


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
    """The all-time tables of the current version equal the truth of `raw`."""
    version = Warehouse(version_root).current()
    table = pq.read_table(version.alltime_path("assets"))
    assert table.schema.equals(ALLTIME_ASSETS)
    got = {r["asset_id"]: r for r in table.to_pylist()}
    truth = expected_country_day(raw)
    labels = labels_of(raw)
    assert set(got) == {a["asset_id"] for a in raw.assets}
    for asset in got:
        cells = {k: v for k, v in truth.items() if k[1] == asset}
        row = got[asset]
        for m in MEASURES:
            assert row[m] == sum(c[m] for c in cells.values())
        imp = set().union(*(c["imp_members"] for c in cells.values()))
        play = set().union(*(c["play_members"] for c in cells.values()))
        assert exact_within(row["imp_sketch"], imp)
        assert exact_within(row["play_sketch"], play)
        assert row["countries"] == sorted({k[2] for k, c in cells.items() if c["impressions"]})
        seen = {lb for m in imp | play for lb in labels.get(m, [])}
        assert row["affinities"] == sorted(seen)
        days = [k[0] for k in cells]
        assert (row["first_day"], row["last_day"]) == (
            (min(days), max(days)) if days else (None, None)
        )
    titles = {r["title_id"]: r for r in pq.read_table(version.alltime_path("titles")).to_pylist()}
    assert set(titles) == {a["title_id"] for a in raw.assets}
    for title, row in titles.items():
        cells = {k: v for k, v in truth.items() if k[1].startswith(title + "a")}
        members = set().union(*(c["imp_members"] for c in cells.values()))
        plays = set().union(*(c["play_members"] for c in cells.values()))
        for m in MEASURES:
            assert row[m] == sum(c[m] for c in cells.values())
        assert exact_within(row["imp_sketch"], members)
        assert exact_within(row["play_sketch"], plays)
        assert row["countries"] == sorted({k[2] for k, c in cells.items() if c["impressions"]})
        seen = {lb for m in members | plays for lb in labels.get(m, [])}
        assert row["affinities"] == sorted(seen)


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
