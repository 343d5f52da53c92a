"""The blob format and the blob directory's files: round trip, malformed payloads, shared
label tuples, announcement validation, version order and durable writes."""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from keyart.errors import SnapshotError
from keyart.store import blob, files
from keyart.store.model import Snapshot
from keyart.store.producer import build_snapshot
from tests.store.handmade import Handmade


@pytest.fixture(scope="module")
def snap(handmade: Handmade) -> Snapshot:
    return build_snapshot(handmade.version, "s000007-20240301T000000Z", datetime.now(UTC))


def _payload(snap: Snapshot) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(gzip.decompress(blob.encode(snap)))
    return payload


def _pack(payload: dict[str, Any]) -> bytes:
    return gzip.compress(json.dumps(payload).encode())


def test_round_trip_is_equal(snap: Snapshot) -> None:
    back = blob.decode(blob.encode(snap))
    assert back == snap
    assert back.title_order == snap.title_order
    assert [back.titles[t].asset_ids for t in back.title_order] == [
        snap.titles[t].asset_ids for t in snap.title_order
    ]


def test_days_round_trip_and_older_blobs_without_days_decode(snap: Snapshot) -> None:
    assert snap.days == (date(2024, 3, 1),)  # the warehouse version's manifest
    assert blob.decode(blob.encode(snap)).days == snap.days
    payload = _payload(snap)
    del payload["days"]  # a blob written before the days were kept
    assert blob.decode(_pack(payload)).days == ()


def test_label_sets_are_bitmasks_over_sorted_vocabularies(snap: Snapshot) -> None:
    payload = _payload(snap)
    vocabulary = payload["countries"]
    assert vocabulary == sorted({c for cs in snap.asset_countries.values() for c in cs})
    for aid, code in zip(payload["assets"]["id"], payload["assets"]["countries"], strict=True):
        mask = int(code, 16)
        assert (
            tuple(c for i, c in enumerate(vocabulary) if mask >> i & 1)
            == (snap.asset_countries[aid])
        )


def test_encode_refuses_unsorted_label_sets(snap: Snapshot) -> None:
    aid = next(a for a, cs in snap.asset_countries.items() if len(cs) >= 2)
    countries = dict(snap.asset_countries)
    countries[aid] = tuple(reversed(countries[aid]))
    with pytest.raises(SnapshotError, match="not sorted and distinct"):
        blob.encode(dataclasses.replace(snap, asset_countries=countries))


def test_equal_label_tuples_are_shared(snap: Snapshot) -> None:
    back = blob.decode(blob.encode(snap))
    by_value: dict[tuple[str, ...], tuple[str, ...]] = {}
    for countries in back.asset_countries.values():
        assert by_value.setdefault(countries, countries) is countries
    # the maps are read only
    with pytest.raises(TypeError):
        back.assets["x"] = back.assets[next(iter(back.assets))]  # type: ignore[index]


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda p: p.update(format="other"), "unsupported format"),
        (lambda p: p.update(format_version=99), "unsupported format"),
        (lambda p: p["assets"].pop("impressions"), "malformed: KeyError"),
        (lambda p: p["assets"]["impressions"].pop(), "malformed: ValueError"),
        (lambda p: p["titles"]["asset_count"].__setitem__(0, 10**6), "not stored together"),
        (lambda p: p["assets"]["countries"].__setitem__(0, "1" + "0" * 40), "beyond the vocab"),
        (lambda p: p["assets"]["countries"].__setitem__(0, "-1"), "beyond the vocabulary"),
        (lambda p: p["assets"]["countries"].__setitem__(0, "xyz"), "malformed: ValueError"),
        (lambda p: p["assets"]["countries"].__setitem__(0, [1]), "malformed: TypeError"),
        (lambda p: p.update(countries=[1, 2]), "not a list of strings"),
        (lambda p: p.update(titles=[]), "not an object of columns"),
        (lambda p: p.update(version=5), "'version' is not a string"),
        (lambda p: p.update(created_at="yesterday"), "malformed: ValueError"),
    ],
)
def test_malformed_payloads_are_snapshot_errors(snap: Snapshot, mutate: Any, match: str) -> None:
    payload = _payload(snap)
    mutate(payload)
    with pytest.raises(SnapshotError, match=match):
        blob.decode(_pack(payload), "the-blob")


@pytest.mark.parametrize("data", [b"", b"plain text", gzip.compress(b"{not json")])
def test_non_snapshot_bytes_are_snapshot_errors(data: bytes) -> None:
    with pytest.raises(SnapshotError, match="the-blob is not a gzip-compressed JSON snapshot"):
        blob.decode(data, "the-blob")


def test_encode_refuses_an_inconsistent_snapshot(snap: Snapshot) -> None:
    with pytest.raises(SnapshotError, match="title_order"):
        blob.encode(dataclasses.replace(snap, title_order=snap.title_order[1:]))
    tid = next(t for t in snap.title_order if snap.titles[t].asset_ids)
    titles = dict(snap.titles)
    titles[tid] = dataclasses.replace(titles[tid], asset_ids=())
    with pytest.raises(SnapshotError, match="asset_ids"):
        blob.encode(dataclasses.replace(snap, titles=titles))


def _announcement(**changes: Any) -> str:
    base = {
        "version": "s000012-20240301T000000Z",
        "file": "snapshot-s000012-20240301T000000Z.json.gz",
        "sha256": "ab" * 32,
        "size": 10,
        "created_at": "2024-03-01T00:00:00+00:00",
        "warehouse_version": "v000001-x",
    }
    return json.dumps({**base, **changes})


def test_announcement_parses(tmp_path: Path) -> None:
    ann = files.Announcement.parse(_announcement(), tmp_path / "announce.json")
    assert ann.seq == 12 and ann.size == 10
    assert files.Announcement.parse(ann.to_json(), tmp_path) == ann


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"size": True}, "'size' must be int, got bool"),
        ({"size": "10"}, "'size' must be int, got str"),
        ({"size": -1}, "negative"),
        ({"sha256": "AB" * 32}, "not 64 lowercase hex"),
        ({"sha256": "ab"}, "not 64 lowercase hex"),
        ({"version": "latest"}, "not a snapshot version"),
        ({"file": "snapshot-s000011-20240301T000000Z.json.gz"}, "not the blob of version"),
        ({"file": "/etc/passwd"}, "not the blob of version"),
    ],
)
def test_bad_announcements_name_the_problem(
    tmp_path: Path, changes: dict[str, Any], match: str
) -> None:
    with pytest.raises(SnapshotError, match=match):
        files.Announcement.parse(_announcement(**changes), tmp_path / "announce.json")


def test_versions_order_by_sequence_not_text(tmp_path: Path) -> None:
    late = files.version_name(1_000_000, datetime(2020, 1, 1, tzinfo=UTC))
    early = files.version_name(999_999, datetime(2030, 1, 1, tzinfo=UTC))
    assert early == "s999999-20300101T000000Z" and late == "s1000000-20200101T000000Z"
    for v in (late, early):
        (tmp_path / files.blob_name(v)).write_bytes(b"x")
    (tmp_path / "snapshot-junk.json.gz").write_bytes(b"x")
    (tmp_path / files.checksum_name(late)).write_text("x")
    assert files.list_blob_versions(tmp_path) == [early, late]
    assert files.list_blob_versions(tmp_path / "missing") == []


def test_durable_writes(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    files.write_durable(path, b"one")
    files.write_durable(path, b"two")
    assert path.read_bytes() == b"two"
    files.create_durable(tmp_path / "b.bin", b"first")
    with pytest.raises(SnapshotError, match="already exists"):
        files.create_durable(tmp_path / "b.bin", b"second")
    assert (tmp_path / "b.bin").read_bytes() == b"first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "b.bin"]


def test_stale_temp_files_are_removed(tmp_path: Path) -> None:
    old = tmp_path / ".snapshot-x.json.gz.abc.tmp"
    fresh = tmp_path / ".snapshot-y.json.gz.def.tmp"
    old.write_bytes(b"")
    fresh.write_bytes(b"")
    hours_ago = time.time() - 2 * files.STALE_TMP_SECONDS
    os.utime(old, (hours_ago, hours_ago))
    files.remove_stale_tmp(tmp_path)
    assert not old.exists() and fresh.exists()


def test_checksum_file_parsing(tmp_path: Path) -> None:
    path = tmp_path / "x.sha256"
    path.write_text(files.checksum_line("cd" * 32, "x"))
    assert files.parse_checksum_file(path) == "cd" * 32
    path.write_text("")
    with pytest.raises(SnapshotError, match="does not start with a SHA-256"):
        files.parse_checksum_file(path)
    with pytest.raises(SnapshotError, match="does not exist"):
        files.parse_checksum_file(tmp_path / "missing.sha256")
