"""The consumer: load, poll and swap, keep the last good version through every kind of
broken publication, never move backwards, pin, and stay consistent under concurrent reads."""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from keyart.errors import ConfigError, SnapshotError
from keyart.store.consumer import SnapshotConsumer
from keyart.store.model import Snapshot
from keyart.store.producer import SnapshotProducer, build_snapshot
from tests.store.handmade import Handmade, build


def _blob(blob_dir: Path, version: str) -> Path:
    return blob_dir / f"snapshot-{version}.json.gz"


def _announce(blob_dir: Path) -> dict[str, object]:
    announced: dict[str, object] = json.loads((blob_dir / "announce.json").read_text())
    return announced


def _reannounce(blob_dir: Path, version: str) -> None:
    """Point announce.json at an existing blob, correctly, by hand."""
    data = _blob(blob_dir, version).read_bytes()
    ann = _announce(blob_dir)
    ann.update(
        version=version,
        file=_blob(blob_dir, version).name,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    (blob_dir / "announce.json").write_text(json.dumps(ann))


@pytest.fixture
def published(handmade: Handmade, blob_dir: Path) -> str:
    """One good snapshot published into blob_dir."""
    return SnapshotProducer(blob_dir).publish(handmade.version)


def test_load_without_any_snapshot_fails_clearly(blob_dir: Path) -> None:
    consumer = SnapshotConsumer(blob_dir)
    with pytest.raises(SnapshotError, match=r"announce\.json does not exist"):
        consumer.load()
    with pytest.raises(SnapshotError, match="no snapshot loaded"):
        consumer.current()
    assert consumer.failures == 1 and consumer.version is None
    assert consumer.age_seconds() is None


def test_load_round_trips_what_the_producer_built(
    handmade: Handmade, blob_dir: Path, published: str
) -> None:
    consumer = SnapshotConsumer(blob_dir)
    loaded = consumer.load()
    ann = _announce(blob_dir)
    expected = build_snapshot(
        handmade.version, published, datetime.fromisoformat(str(ann["created_at"]))
    )
    assert loaded == expected
    assert consumer.current() is loaded
    assert consumer.version == published and consumer.loads == 1 and consumer.failures == 0
    stats = consumer.stats()
    assert stats.version == published and stats.warehouse_version == handmade.version.name
    assert stats.loaded_at is not None and stats.last_poll_at is not None
    assert stats.age_seconds is not None and 0 <= stats.age_seconds < 60
    # polling again without a new announcement changes nothing
    assert consumer.refresh() is False
    assert consumer.current() is loaded and consumer.loads == 1


def test_refresh_picks_up_a_new_version(tmp_path: Path, blob_dir: Path) -> None:
    first = build(tmp_path / "wh", tag="g1")
    producer = SnapshotProducer(blob_dir)
    v1 = producer.publish(first.version)
    consumer = SnapshotConsumer(blob_dir)
    old = consumer.load()
    second = build(tmp_path / "wh", tag="g2", seed=2)
    v2 = producer.publish(second.version)
    assert consumer.refresh() is True
    new = consumer.current()
    assert (old.version, new.version) == (v1, v2)
    assert new.warehouse_version == second.version.name
    assert all(a.name.startswith("g2 ") for a in new.assets.values())
    # a request that grabbed the old object keeps a complete, unchanged view
    assert all(a.name.startswith("g1 ") for a in old.assets.values())
    for aid, truth in second.asset_truth.items():
        assert new.asset_alltime[aid].impressions == truth.impressions
    assert consumer.loads == 2


def _break_and_check(blob_dir: Path, consumer: SnapshotConsumer, good: str, match: str) -> None:
    before = consumer.failures
    assert consumer.refresh() is False
    assert consumer.version == good
    assert consumer.failures == before + 1
    assert consumer.last_error is not None
    assert match in consumer.last_error, consumer.last_error
    assert consumer.stats().last_error_at is not None


@pytest.fixture
def two_versions(handmade: Handmade, blob_dir: Path) -> tuple[SnapshotConsumer, str, str]:
    """A consumer serving v1 while v2 has just been announced (not yet polled)."""
    producer = SnapshotProducer(blob_dir)
    v1 = producer.publish(handmade.version)
    consumer = SnapshotConsumer(blob_dir)
    consumer.load()
    v2 = producer.publish(handmade.version)
    return consumer, v1, v2


def test_corrupt_blob_keeps_the_last_good_version(
    blob_dir: Path, two_versions: tuple[SnapshotConsumer, str, str]
) -> None:
    consumer, v1, v2 = two_versions
    path = _blob(blob_dir, v2)
    data = bytearray(path.read_bytes())
    for i in range(len(data) // 3, len(data) // 3 + 8):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    _break_and_check(blob_dir, consumer, v1, "corrupt or replaced")


def test_truncated_blob_keeps_the_last_good_version(
    blob_dir: Path, two_versions: tuple[SnapshotConsumer, str, str]
) -> None:
    consumer, v1, v2 = two_versions
    path = _blob(blob_dir, v2)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _break_and_check(blob_dir, consumer, v1, "half written or truncated")


def test_checksum_mismatch_keeps_the_last_good_version(
    blob_dir: Path, two_versions: tuple[SnapshotConsumer, str, str]
) -> None:
    consumer, v1, _ = two_versions
    ann = _announce(blob_dir)
    ann["sha256"] = hashlib.sha256(b"something else").hexdigest()
    (blob_dir / "announce.json").write_text(json.dumps(ann))
    _break_and_check(blob_dir, consumer, v1, "corrupt or replaced")


def test_missing_blob_keeps_the_last_good_version(
    blob_dir: Path, two_versions: tuple[SnapshotConsumer, str, str]
) -> None:
    consumer, v1, v2 = two_versions
    _blob(blob_dir, v2).unlink()
    _break_and_check(blob_dir, consumer, v1, "does not exist")


def test_valid_checksum_over_garbage_keeps_the_last_good_version(
    blob_dir: Path, two_versions: tuple[SnapshotConsumer, str, str]
) -> None:
    # a blob that passes size and checksum but is not a snapshot (a buggy producer)
    consumer, v1, v2 = two_versions
    _blob(blob_dir, v2).write_bytes(b"\x1f\x8b not really gzip")
    _reannounce(blob_dir, v2)
    _break_and_check(blob_dir, consumer, v1, "is not a gzip-compressed JSON snapshot")


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{not json", "not valid JSON"),
        ("", "not valid JSON"),
        ("[1, 2]", "must hold a JSON object"),
        ('{"version": "s000009-20240101T000000Z"}', "lacks field(s) file"),
        ("binary\xff", "not valid JSON"),
    ],
)
def test_garbage_announcement_keeps_the_last_good_version(
    blob_dir: Path, two_versions: tuple[SnapshotConsumer, str, str], content: str, match: str
) -> None:
    consumer, v1, _ = two_versions
    (blob_dir / "announce.json").write_text(content)
    _break_and_check(blob_dir, consumer, v1, match)


def test_announcement_cannot_point_outside_the_blob_dir(
    blob_dir: Path, two_versions: tuple[SnapshotConsumer, str, str]
) -> None:
    consumer, v1, v2 = two_versions
    ann = _announce(blob_dir)
    ann["file"] = f"../elsewhere/snapshot-{v2}.json.gz"
    (blob_dir / "announce.json").write_text(json.dumps(ann))
    _break_and_check(blob_dir, consumer, v1, "is not the blob of version")


def test_missing_announcement_keeps_the_last_good_version(
    blob_dir: Path, two_versions: tuple[SnapshotConsumer, str, str]
) -> None:
    consumer, v1, _ = two_versions
    (blob_dir / "announce.json").unlink()
    _break_and_check(blob_dir, consumer, v1, "announce.json does not exist")


def test_recovers_when_a_good_version_follows_a_broken_one(
    handmade: Handmade, blob_dir: Path, two_versions: tuple[SnapshotConsumer, str, str]
) -> None:
    consumer, v1, v2 = two_versions
    _blob(blob_dir, v2).write_bytes(b"")
    assert consumer.refresh() is False and consumer.version == v1
    v3 = SnapshotProducer(blob_dir).publish(handmade.version)
    assert consumer.refresh() is True and consumer.version == v3
    assert consumer.failures == 1 and consumer.loads == 2


def test_never_moves_backwards(
    blob_dir: Path, two_versions: tuple[SnapshotConsumer, str, str]
) -> None:
    consumer, v1, v2 = two_versions
    assert consumer.refresh() is True and consumer.version == v2
    _reannounce(blob_dir, v1)  # a valid, older announcement
    assert consumer.refresh() is False
    assert consumer.version == v2 and consumer.failures == 0


def test_first_load_from_a_broken_announcement_fails(blob_dir: Path, handmade: Handmade) -> None:
    v1 = SnapshotProducer(blob_dir).publish(handmade.version)
    _blob(blob_dir, v1).write_bytes(_blob(blob_dir, v1).read_bytes()[:100])
    consumer = SnapshotConsumer(blob_dir)
    with pytest.raises(SnapshotError, match="half written or truncated"):
        consumer.load()


def test_pinned_consumer_loads_exactly_that_version_and_stays(
    tmp_path: Path, blob_dir: Path
) -> None:
    first = build(tmp_path / "wh", tag="g1")
    producer = SnapshotProducer(blob_dir)
    v1 = producer.publish(first.version)
    v2 = producer.publish(build(tmp_path / "wh", tag="g2").version)
    consumer = SnapshotConsumer(blob_dir, pin=v1)
    snap = consumer.load()
    assert snap.version == v1 and snap.warehouse_version == first.version.name
    assert all(a.name.startswith("g1 ") for a in snap.assets.values())
    producer.publish(first.version)
    assert consumer.refresh() is False
    assert consumer.current() is snap and consumer.stats().pinned == v1
    assert v2 != v1


def test_pinned_blob_is_verified(blob_dir: Path, handmade: Handmade) -> None:
    producer = SnapshotProducer(blob_dir)
    v1 = producer.publish(handmade.version)
    producer.publish(handmade.version)
    data = bytearray(_blob(blob_dir, v1).read_bytes())
    data[-20] ^= 0x01
    _blob(blob_dir, v1).write_bytes(bytes(data))
    consumer = SnapshotConsumer(blob_dir, pin=v1)
    with pytest.raises(SnapshotError, match="corrupt or replaced"):
        consumer.load()


def test_pin_to_a_missing_version_fails(blob_dir: Path, published: str) -> None:
    consumer = SnapshotConsumer(blob_dir, pin="s000999-20240101T000000Z")
    with pytest.raises(SnapshotError, match="does not exist"):
        consumer.load()
    with pytest.raises(SnapshotError, match="not a snapshot version"):
        SnapshotConsumer(blob_dir, pin="latest")


def test_poll_interval_must_be_positive(blob_dir: Path) -> None:
    with pytest.raises(ConfigError):
        SnapshotConsumer(blob_dir, poll_interval_s=0)


async def test_polling_loop_swaps_in_new_versions(handmade: Handmade, blob_dir: Path) -> None:
    producer = SnapshotProducer(blob_dir)
    v1 = producer.publish(handmade.version)
    consumer = SnapshotConsumer(blob_dir, poll_interval_s=0.05)
    consumer.load()
    task = consumer.start()
    try:
        v2 = await asyncio.to_thread(producer.publish, handmade.version)
        deadline = time.monotonic() + 10
        while consumer.version != v2 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert consumer.version == v2 != v1
        # a broken publication while polling: still v2, failures counted
        ann = _announce(blob_dir)
        ann["version"] = "s999999-20240101T000000Z"
        (blob_dir / "announce.json").write_text(json.dumps(ann))
        while consumer.failures < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert consumer.failures >= 2 and consumer.version == v2
    finally:
        await consumer.aclose()
    assert task.done() and not task.cancelled() and task.exception() is None


async def test_stop_before_the_first_poll_ends_the_loop(blob_dir: Path) -> None:
    consumer = SnapshotConsumer(blob_dir, poll_interval_s=60)
    consumer.start()
    await asyncio.wait_for(consumer.aclose(), timeout=5)


def test_concurrent_readers_see_one_consistent_version(tmp_path: Path, blob_dir: Path) -> None:
    # each generation's warehouse is distinguishable in every asset name and title count
    gens = [build(tmp_path / "wh", tag=f"g{g}", seed=g, n_titles=4 + g) for g in range(4)]
    producer = SnapshotProducer(blob_dir, keep=2)
    producer.publish(gens[0].version)
    consumer = SnapshotConsumer(blob_dir)
    consumer.load()
    tag_of = {g.version.name: f"g{i}" for i, g in enumerate(gens)}
    errors: list[str] = []
    seen: set[str] = set()
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            snap: Snapshot = consumer.current()  # grabbed once, used throughout
            tag = tag_of[snap.warehouse_version]
            seen.add(snap.version)
            n_titles = int(tag[1:]) + 4
            if len(snap.titles) != n_titles or len(snap.title_order) != n_titles:
                errors.append(f"{snap.version}: {len(snap.titles)} titles, expected {n_titles}")
            for aid in snap.assets:
                if not snap.assets[aid].name.startswith(tag + " "):
                    errors.append(f"{snap.version}: asset {aid} from another version")
                if aid not in snap.asset_alltime or aid not in snap.asset_countries:
                    errors.append(f"{snap.version}: asset {aid} lacks metrics")
            time.sleep(0.001)  # leave the GIL to the publishing thread now and then

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        versions = [consumer.version]
        for g in gens[1:]:
            producer.publish(g.version)
            assert consumer.refresh() is True
            versions.append(consumer.version)
            time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    assert len(seen) >= 2  # readers really ran across swaps
    assert versions == sorted(versions, key=lambda v: int(str(v)[1:7]))
    assert consumer.loads == 4


def test_a_broken_announced_blob_falls_back_to_the_newest_intact_one_on_poll(
    handmade: Handmade, blob_dir: Path, two_versions: tuple[SnapshotConsumer, str, str]
) -> None:
    consumer, v1, v2 = two_versions
    v3 = SnapshotProducer(blob_dir).publish(handmade.version)  # announced, then damaged
    path = _blob(blob_dir, v3)
    path.write_bytes(path.read_bytes()[:-20])
    assert consumer.refresh() is True
    assert consumer.version == v2  # newer than v1, older than the broken v3
    assert (consumer.failures, consumer.fallbacks) == (1, 1)
    assert consumer.stats().fallbacks == 1
    # the next poll finds nothing better and stays on v2, counting the failure
    assert consumer.refresh() is False
    assert (consumer.version, consumer.failures, consumer.fallbacks) == (v2, 2, 1)
    assert v1 != v2


def test_a_broken_blob_with_no_intact_newer_one_keeps_the_served(
    blob_dir: Path, two_versions: tuple[SnapshotConsumer, str, str]
) -> None:
    consumer, v1, v2 = two_versions
    _blob(blob_dir, v2).write_bytes(b"not a snapshot")
    assert consumer.refresh() is False
    assert (consumer.version, consumer.fallbacks) == (v1, 0)
