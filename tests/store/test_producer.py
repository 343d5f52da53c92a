"""The producer: all-time metrics, availability, options and order against the exact truth a
hand-built warehouse was made from; durable blob, checksum, announcement and retention."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from keyart import sketches
from keyart.errors import ConfigError, WarehouseError
from keyart.query.results import Estimate, MetricValues
from keyart.store import blob
from keyart.store.producer import SnapshotProducer, build_snapshot
from tests.store.handmade import Handmade, Truth, build


def _contains(estimate: Estimate, exact: int) -> bool:
    return estimate.lower <= exact <= estimate.upper


def _check_metrics(values: MetricValues, truth: Truth) -> None:
    assert values.impressions == truth.impressions
    assert values.qualified_plays == truth.qualified_plays
    assert values.play_seconds == truth.play_seconds
    assert values.engaged_plays == truth.engaged_plays


def test_alltime_metrics_match_the_truth(handmade: Handmade) -> None:
    snap = build_snapshot(handmade.version, "s000001-20240301T000000Z", datetime.now(UTC))
    assert set(snap.asset_alltime) == set(handmade.assets)  # dense: every asset has metrics
    outside = 0
    groups = 0
    for aid, truth in handmade.asset_truth.items():
        values = snap.asset_alltime[aid]
        _check_metrics(values, truth)
        for est, members in (
            (values.unique_impressions, truth.imp_members),
            (values.unique_players, truth.play_members),
        ):
            groups += 1
            outside += not _contains(est, len(members))
            if not members:
                assert est == Estimate(0.0, 0.0, 0.0)
            elif len(members) <= 40:  # HLL counts coupons near-exactly while small
                assert round(est.value) == len(members)
    for tid, truth in handmade.title_truth.items():
        values = snap.title_alltime[tid]
        _check_metrics(values, truth)
        groups += 2
        outside += not _contains(values.unique_impressions, len(truth.imp_members))
        outside += not _contains(values.unique_players, len(truth.play_members))
    # ~95% bounds: with a few dozen groups, more than two misses would be suspicious
    assert outside <= 2, f"{outside} of {groups} distinct counts outside their bounds"


def test_assets_without_data_are_zero_and_unavailable(handmade: Handmade) -> None:
    snap = build_snapshot(handmade.version, "s000001-20240301T000000Z", datetime.now(UTC))
    silent = set(handmade.assets) - set(handmade.asset_truth)
    assert len(silent) == 2
    for aid in silent:
        values = snap.asset_alltime[aid]
        assert values.impressions == 0 and values.unique_impressions.value == 0
        assert values.take_rate is None
        assert snap.asset_countries[aid] == ()


def test_availability_options_and_affinities(handmade: Handmade) -> None:
    snap = build_snapshot(handmade.version, "s000001-20240301T000000Z", datetime.now(UTC))
    for aid in handmade.assets:
        truth = handmade.asset_truth.get(aid, Truth())
        assert snap.asset_countries[aid] == tuple(sorted(truth.countries))
    for tid in handmade.titles:
        truth = handmade.title_truth.get(tid, Truth())
        assert snap.title_countries[tid] == tuple(sorted(truth.countries))
        options = snap.title_filter_options[tid]
        assert options.countries == tuple(sorted(truth.countries))
        assert options.affinities == tuple(sorted(truth.affinities))
    every_label = set().union(*(t.affinities for t in handmade.asset_truth.values()))
    assert snap.affinities == tuple(sorted(every_label))
    assert len(snap.affinities) >= 2


def test_metadata_and_orders(handmade: Handmade) -> None:
    snap = build_snapshot(handmade.version, "s000001-20240301T000000Z", datetime.now(UTC))
    assert snap.warehouse_version == handmade.version.name
    assert set(snap.titles) == set(handmade.titles)
    for tid, row in handmade.titles.items():
        info = snap.titles[tid]
        assert (info.name, info.kind, info.launch_date) == (
            row["name"],
            row["kind"],
            row["launch_date"],
        )
        assert info.genres == tuple(cast("list[str]", row["genres"]))
        mine = [a for a in handmade.assets.values() if a["title_id"] == tid]
        expected = sorted(mine, key=lambda a: (str(a["asset_type"]), str(a["asset_id"])))
        assert info.asset_ids == tuple(a["asset_id"] for a in expected)
    for aid, row in handmade.assets.items():
        asset = snap.assets[aid]
        assert (asset.title_id, asset.type, asset.name, asset.media_url) == (
            row["title_id"],
            row["asset_type"],
            row["name"],
            row["media_url"],
        )
        assert asset.tags == tuple(cast("list[str]", row["tags"]))
    names = [(str(r["name"]).lower(), str(r["name"]), tid) for tid, r in handmade.titles.items()]
    assert snap.title_order == tuple(tid for *_, tid in sorted(names))
    # "Alpha" and "alpha" sort together, the upper-case one first
    assert [snap.titles[t].name for t in snap.title_order[:2]] == ["Alpha", "alpha"]


def test_publish_writes_blob_checksum_and_announcement(handmade: Handmade, blob_dir: Path) -> None:
    version = SnapshotProducer(blob_dir).publish(handmade.version)
    announce = json.loads((blob_dir / "announce.json").read_text())
    data = (blob_dir / announce["file"]).read_bytes()
    assert announce["version"] == version
    assert announce["file"] == f"snapshot-{version}.json.gz"
    assert announce["size"] == len(data)
    assert announce["sha256"] == hashlib.sha256(data).hexdigest()
    assert announce["warehouse_version"] == handmade.version.name
    datetime.fromisoformat(announce["created_at"])
    checksum = (blob_dir / f"{announce['file']}.sha256").read_text()
    assert checksum == f"{hashlib.sha256(data).hexdigest()}  {announce['file']}\n"
    # plain gzip + JSON, readable without keyart
    payload = json.loads(gzip.decompress(data))
    assert payload["version"] == version
    assert sorted(payload["assets"]["id"]) == sorted(handmade.assets)
    # no temporary files are left behind
    assert sorted(p.name for p in blob_dir.iterdir()) == sorted(
        ["announce.json", announce["file"], f"{announce['file']}.sha256"]
    )


def test_versions_increase_and_retention_keeps_the_announced(
    handmade: Handmade, blob_dir: Path
) -> None:
    producer = SnapshotProducer(blob_dir, keep=2)
    published = [producer.publish(handmade.version) for _ in range(4)]
    seqs = [int(v[1:7]) for v in published]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4
    blobs = sorted(p.name for p in blob_dir.glob("snapshot-*.json.gz"))
    assert blobs == [f"snapshot-{v}.json.gz" for v in published[-2:]]
    assert sorted(p.name for p in blob_dir.glob("*.sha256")) == [f"{b}.sha256" for b in blobs]

    # someone re-announces an older blob by hand; pruning must never delete it
    announce = json.loads((blob_dir / "announce.json").read_text())
    older = published[-2]
    data = (blob_dir / f"snapshot-{older}.json.gz").read_bytes()
    announce.update(
        version=older,
        file=f"snapshot-{older}.json.gz",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    (blob_dir / "announce.json").write_text(json.dumps(announce))
    assert SnapshotProducer(blob_dir, keep=1).prune() == []
    assert (blob_dir / f"snapshot-{older}.json.gz").exists()  # announced
    assert (blob_dir / f"snapshot-{published[-1]}.json.gz").exists()  # newest

    # the next publication still counts on from the newest blob, and prunes the rest
    newest = SnapshotProducer(blob_dir, keep=1).publish(handmade.version)
    assert int(newest[1:7]) == seqs[-1] + 1
    assert sorted(p.name for p in blob_dir.glob("snapshot-*.json.gz")) == [
        f"snapshot-{newest}.json.gz"
    ]


def test_sequence_continues_after_blobs_are_gone(handmade: Handmade, blob_dir: Path) -> None:
    producer = SnapshotProducer(blob_dir)
    first = producer.publish(handmade.version)
    for path in blob_dir.glob("snapshot-*"):
        path.unlink()
    second = producer.publish(handmade.version)
    assert int(second[1:7]) == int(first[1:7]) + 1


def test_blob_is_deterministic_for_equal_snapshots(handmade: Handmade) -> None:
    when = datetime(2024, 3, 2, tzinfo=UTC)
    a = blob.encode(build_snapshot(handmade.version, "s000001-20240302T000000Z", when))
    b = blob.encode(build_snapshot(handmade.version, "s000001-20240302T000000Z", when))
    assert a == b


def test_keep_must_be_positive(blob_dir: Path) -> None:
    with pytest.raises(ConfigError, match="keep"):
        SnapshotProducer(blob_dir, keep=0)


def test_missing_column_is_named(tmp_path: Path, blob_dir: Path) -> None:
    made = build(tmp_path / "wh", n_titles=2)
    path = made.version.alltime_path("assets")
    pq.write_table(pq.read_table(path).drop_columns(["countries"]), path)
    with pytest.raises(WarehouseError, match=r"assets\.parquet lacks column\(s\) countries"):
        SnapshotProducer(blob_dir).publish(made.version)
    assert not blob_dir.exists() or not any(blob_dir.iterdir())


def test_orphan_asset_is_refused(tmp_path: Path, blob_dir: Path) -> None:
    made = build(tmp_path / "wh", n_titles=2)
    path = made.version.dim_path("titles")
    pq.write_table(pq.read_table(path).slice(0, 1), path)
    with pytest.raises(WarehouseError, match="belongs to title 't001'"):
        SnapshotProducer(blob_dir).publish(made.version)


def test_missing_table_is_named(tmp_path: Path, blob_dir: Path) -> None:
    made = build(tmp_path / "wh", n_titles=2)
    made.version.alltime_path("titles").unlink()
    with pytest.raises(WarehouseError, match=r"alltime/titles\.parquet does not exist"):
        SnapshotProducer(blob_dir).publish(made.version)


def test_estimates_equal_a_backend_union_of_the_sketches(tmp_path: Path) -> None:
    # the snapshot must answer what a union-based backend answers over the same sketches,
    # including a sketch built at a finer lgK than the warehouse's (the union downsizes it)
    made = build(tmp_path / "wh", n_titles=3, lg_k=12)
    path = made.version.alltime_path("assets")
    table = pq.read_table(path)
    rows = table.to_pylist()
    fine = next(
        i for i, r in enumerate(rows) if len(made.asset_truth[r["asset_id"]].imp_members) > 100
    )
    members = made.asset_truth[rows[fine]["asset_id"]].imp_members
    rows[fine]["imp_sketch"] = sketches.build(members, 14)
    pq.write_table(pa.Table.from_pylist(rows, table.schema), path)
    snap = build_snapshot(made.version, "s000001-20240301T000000Z", datetime.now(UTC))
    for row in rows:
        values = snap.asset_alltime[row["asset_id"]]
        assert values.unique_impressions == sketches.estimate_blobs([row["imp_sketch"]], 12)
        assert values.unique_players == sketches.estimate_blobs([row["play_sketch"]], 12)
    assert _contains(snap.asset_alltime[rows[fine]["asset_id"]].unique_impressions, len(members))


def test_garbage_sketch_is_a_warehouse_error(tmp_path: Path, blob_dir: Path) -> None:
    made = build(tmp_path / "wh", n_titles=2)
    path = made.version.alltime_path("titles")
    table = pq.read_table(path)
    rows = table.to_pylist()
    rows[0]["imp_sketch"] = b"not a sketch"
    pq.write_table(pa.Table.from_pylist(rows, table.schema), path)
    with pytest.raises(
        WarehouseError,
        match=r"titles\.parquet, title 't00\d', column imp_sketch: not a DataSketches HLL",
    ):
        SnapshotProducer(blob_dir).publish(made.version)
