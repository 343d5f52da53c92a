"""The all-time insights in the snapshot blob: computed at publish, read back equal, and
computed on load for a blob written before they were stored."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from keyart.errors import SnapshotError
from keyart.etl.generator import GenerateSummary
from keyart.insights.appeal import Verdict
from keyart.insights.measures import InsightMetric
from keyart.store import blob, files
from keyart.store.model import Snapshot


@pytest.fixture(scope="module")
def published(insights_world: tuple[Path, GenerateSummary]) -> bytes:
    snapshots = insights_world[0] / "snapshots"
    return (snapshots / files.read_announcement(snapshots).file).read_bytes()


def _flagged(snap: Snapshot, metric: InsightMetric) -> set[str]:
    return {t.asset_id for found in snap.title_outliers.values() for t in found.get(metric, ())}


def test_the_published_snapshot_holds_the_planted_effects(
    published: bytes, insights_world: tuple[Path, GenerateSummary]
) -> None:
    summary = insights_world[1]
    snap = blob.decode(published)
    assert _flagged(snap, InsightMetric.TAKE_RATE) == set(summary.outlier_asset_ids)
    assert _flagged(snap, InsightMetric.AUTHENTICITY) == set(summary.clickbait_asset_ids)
    clickbait = {a for a, v in snap.asset_appeal.items() if v.verdict is Verdict.CLICKBAIT}
    assert clickbait == set(summary.clickbait_asset_ids)
    assert snap.asset_appeal.keys() == snap.assets.keys()


def test_a_blob_without_insights_computes_them_on_load(published: bytes) -> None:
    payload = json.loads(gzip.decompress(published))
    assert payload["format_version"] == blob.FORMAT_VERSION
    del payload["insights"]
    old = blob.decode(gzip.compress(json.dumps(payload).encode()))
    assert old == blob.decode(published)


def test_a_malformed_insights_section_is_a_snapshot_error(published: bytes) -> None:
    payload = json.loads(gzip.decompress(published))
    payload["insights"]["appeal"]["verdict"][0] = "SPLENDID"
    with pytest.raises(SnapshotError, match="malformed"):
        blob.decode(gzip.compress(json.dumps(payload).encode()))
