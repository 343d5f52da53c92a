"""Rollup → NDJSON export: every row, value and sketch survives the trip byte for byte."""

from __future__ import annotations

import base64
import json
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from keyart import sketches
from keyart.backends.druid.export import export_rollup
from keyart.warehouse.layout import Version
from keyart.warehouse.tables import ASSET_AUDIENCE_DAY


def _write_day(version: Version, day: date, rows: list[dict[str, object]]) -> None:
    folder = version.rollup_dir(ASSET_AUDIENCE_DAY) / f"day={day.isoformat()}"
    folder.mkdir(parents=True)
    table = pa.Table.from_pylist(rows, schema=ASSET_AUDIENCE_DAY.schema)
    pq.write_table(table, folder / "part.parquet")


def test_export_writes_one_json_file_per_day_with_base64_sketches(tmp_path: Path) -> None:
    version = Version(tmp_path / "v1", "v1", {"etl": {"lg_k": 12}})
    d1, d2 = date(2024, 1, 1), date(2024, 1, 2)
    sketch_a = sketches.build(range(100), 12)
    sketch_b = sketches.build([5, 9], 12)
    rows1 = [
        {"day": d1, "title_id": "t1", "asset_id": "a1", "asset_type": "artwork",
         "country": "US", "affinities": ["b fans", "a fans"], "impressions": 120,
         "qualified_plays": 3, "play_seconds": 1500, "engaged_plays": 1,
         "imp_sketch": sketch_a, "play_sketch": sketch_b},
        {"day": d1, "title_id": "t1", "asset_id": "a2", "asset_type": "video",
         "country": "DE", "affinities": [], "impressions": 7, "qualified_plays": 0,
         "play_seconds": 0, "engaged_plays": 0, "imp_sketch": sketch_b, "play_sketch": None},
    ]  # fmt: skip
    rows2 = [{**rows1[0], "day": d2, "impressions": 1}]
    _write_day(version, d1, rows1)
    _write_day(version, d2, rows2)
    (version.rollup_dir(ASSET_AUDIENCE_DAY) / "day=2024-01-03").mkdir()  # empty: skipped

    stats = export_rollup(version, ASSET_AUDIENCE_DAY, tmp_path / "out")

    assert stats.days == (d1, d2)
    assert stats.rows == 3
    assert stats.impressions == 120 + 7 + 1
    assert stats.qualified_plays == 3 + 0 + 3
    assert [p.name for p in stats.files] == ["2024-01-01.json", "2024-01-02.json"]
    lines = [json.loads(line) for line in stats.files[0].read_text().splitlines()]
    assert len(lines) == 2
    by_asset = {line["asset_id"]: line for line in lines}
    first = by_asset["a1"]
    assert first["day"] == "2024-01-01"
    assert first["affinities"] == ["b fans", "a fans"]
    assert (first["impressions"], first["play_seconds"]) == (120, 1500)
    assert base64.b64decode(first["imp_sketch"]) == sketch_a
    assert base64.b64decode(first["play_sketch"]) == sketch_b
    assert by_asset["a2"]["play_sketch"] is None
    assert by_asset["a2"]["affinities"] == []
    (second,) = [json.loads(x) for x in stats.files[1].read_text().splitlines()]
    assert second["day"] == "2024-01-02"
