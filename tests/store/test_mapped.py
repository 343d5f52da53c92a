"""Mapped snapshots: the same content as a decoded blob, written once and mapped by every
later loader, rewritten when damaged, refused with the blob when the blob is broken, and
the consumer falling back to decoding when the map folder is unusable."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime
from pathlib import Path

import pytest

from keyart.errors import SnapshotError
from keyart.store import blob, files, mapped
from keyart.store.consumer import SnapshotConsumer
from keyart.store.model import Snapshot
from keyart.store.producer import SnapshotProducer, build_snapshot
from tests.store.handmade import Handmade


@pytest.fixture
def published(handmade: Handmade, blob_dir: Path) -> files.Announcement:
    """One good snapshot published into blob_dir; its announcement."""
    SnapshotProducer(blob_dir).publish(handmade.version)
    return files.read_announcement(blob_dir)


def _blob_bytes(blob_dir: Path, ann: files.Announcement) -> bytes:
    return (blob_dir / ann.file).read_bytes()


def assert_same(got: Snapshot, want: Snapshot) -> None:
    """Every field equal, mappings in the same order (pages and title assets keep it)."""
    assert got == want
    for name in Snapshot.__slots__:
        a, b = getattr(got, name), getattr(want, name)
        if hasattr(b, "keys"):
            assert list(a) == list(b), name
            for key in b:
                assert a[key] == b[key], (name, key)


def test_mapped_snapshot_equals_the_decoded_blob_and_the_warehouse(
    handmade: Handmade, blob_dir: Path, published: files.Announcement, tmp_path: Path
) -> None:
    data = _blob_bytes(blob_dir, published)
    got = mapped.load(tmp_path / "map", published.version, published.sha256, data, "blob")
    assert_same(got, blob.decode(data))
    built = build_snapshot(
        handmade.version, published.version, datetime.fromisoformat(published.created_at)
    )
    assert got == built  # the same content as the warehouse (its maps in another order)
    assert got.asset_alltime.get("no-such-asset") is None and "no-such-asset" not in got.assets
    # objects are built once per row and kept
    some = next(iter(got.assets))
    assert got.assets[some] is got.assets[some]


def test_a_second_loader_maps_the_written_columns_without_decoding(
    blob_dir: Path, published: files.Announcement, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _blob_bytes(blob_dir, published)
    first = mapped.load(tmp_path / "map", published.version, published.sha256, data, "blob")
    folder = tmp_path / "map" / mapped.folder_name(published.version, published.sha256)
    written = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}

    def no_decode(*_args: object) -> Snapshot:
        raise AssertionError("a mapped blob must not be decoded again")

    monkeypatch.setattr(blob, "decode", no_decode)
    second = mapped.load(tmp_path / "map", published.version, published.sha256, data, "blob")
    assert second == first and second is not first
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == written
    assert sorted(written) == ["assets.arrow", "meta.json", "outliers.arrow", "titles.arrow"]
    assert [p.name for p in (tmp_path / "map").iterdir()] == [folder.name]  # no temp left


def test_damaged_columns_are_rewritten_from_the_verified_blob(
    blob_dir: Path, published: files.Announcement, tmp_path: Path
) -> None:
    data = _blob_bytes(blob_dir, published)
    want = blob.decode(data)
    mapped.load(tmp_path / "map", published.version, published.sha256, data, "blob")
    folder = tmp_path / "map" / mapped.folder_name(published.version, published.sha256)
    titles = folder / "titles.arrow"
    # a damaged file in place of the written one (a new file: mapped pages are never
    # changed under a process that maps them)
    damaged = folder / "damaged"
    damaged.write_bytes(titles.read_bytes()[:100])
    damaged.replace(titles)
    with pytest.raises(SnapshotError, match="unreadable"):
        mapped.open_mapped(folder, published.sha256)
    assert mapped.load(tmp_path / "map", published.version, published.sha256, data, "b") == want
    # columns of another blob under the same name are not taken for this one's
    meta = json.loads((folder / "meta.json").read_text())
    meta["blob_sha256"] = "0" * 64
    (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(SnapshotError, match="does not hold the columns"):
        mapped.open_mapped(folder, published.sha256)


def test_a_broken_blob_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    data = b"\x1f\x8b not really gzip"
    with pytest.raises(SnapshotError, match="not a gzip-compressed JSON snapshot"):
        mapped.load(tmp_path / "map", "s000001-20260101T000000Z", "a" * 64, data, "the blob")
    assert not (tmp_path / "map").exists() or not any((tmp_path / "map").iterdir())


def test_consumer_maps_by_default_from_its_map_dir_and_prunes_pruned_versions(
    handmade: Handmade, blob_dir: Path, published: files.Announcement
) -> None:
    map_dir = blob_dir / mapped.MAPPED_DIR
    consumer = SnapshotConsumer(blob_dir, map_dir=map_dir)
    first = consumer.load()
    assert first == blob.decode(_blob_bytes(blob_dir, published))
    assert [p.name for p in map_dir.iterdir()] == [
        mapped.folder_name(published.version, published.sha256)
    ]
    # a newer version, the old blob pruned: its columns go too
    newer = SnapshotProducer(blob_dir).publish(handmade.version)
    for name in (files.blob_name(published.version), files.checksum_name(published.version)):
        (blob_dir / name).unlink()
    assert consumer.refresh() is True
    assert consumer.current().version == newer and consumer.current().titles == first.titles
    assert [p.name.startswith(newer) for p in map_dir.iterdir()] == [True]
    # a folder left half written by a killed process goes once it is old
    left = map_dir / f".{newer}-0123.abc{files.TMP_SUFFIX}"
    left.mkdir()
    mapped.remove_unused(map_dir, {newer})
    assert left.exists()  # it may still be being written
    old = time.time() - files.STALE_TMP_SECONDS - 60
    os.utime(left, (old, old))
    mapped.remove_unused(map_dir, {newer})
    assert not left.exists() and [p.name.startswith(newer) for p in map_dir.iterdir()] == [True]


def test_consumer_decodes_when_the_map_dir_is_unusable(
    blob_dir: Path, published: files.Announcement, tmp_path: Path
) -> None:
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the map folder should be")
    consumer = SnapshotConsumer(blob_dir, map_dir=blocked)
    loaded = consumer.load()
    assert loaded == blob.decode(_blob_bytes(blob_dir, published))
    assert consumer.failures == 0 and consumer.version == published.version
