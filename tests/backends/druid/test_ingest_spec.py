"""The index_parallel spec: explicit dimensions, HLL merge of base64 sketches, idempotency."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from keyart.backends.druid.ingest_spec import ingestion_spec, interval_text
from keyart.warehouse.tables import ASSET_AUDIENCE_DAY, ASSET_COUNTRY_DAY


def test_audience_spec_has_multi_value_affinities_and_sketch_merges() -> None:
    spec = ingestion_spec(
        datasource="keyart_asset_audience_day",
        rollup=ASSET_AUDIENCE_DAY,
        base_dir=Path("/tmp/export/asset_audience_day"),
        interval=interval_text(date(2024, 1, 1), date(2024, 1, 31)),
        lg_k=12,
    )
    assert spec["type"] == "index_parallel"
    schema = spec["spec"]["dataSchema"]
    assert schema["dataSource"] == "keyart_asset_audience_day"
    dims = schema["dimensionsSpec"]["dimensions"]
    assert [d["name"] for d in dims] == [
        "title_id", "asset_id", "asset_type", "country", "affinities",
    ]  # fmt: skip
    assert all(d["type"] == "string" for d in dims)
    assert dims[-1]["multiValueHandling"] == "SORTED_SET"
    metrics = {m["name"]: m for m in schema["metricsSpec"]}
    for name in ("impressions", "qualified_plays", "play_seconds", "engaged_plays"):
        assert metrics[name] == {"type": "longSum", "name": name, "fieldName": name}
    for name in ("imp_sketch", "play_sketch"):
        assert metrics[name] == {
            "type": "HLLSketchMerge", "name": name, "fieldName": name, "lgK": 12,
            "tgtHllType": "HLL_4",
        }  # fmt: skip
    assert metrics["rows"] == {"type": "count", "name": "rows"}
    granularity = schema["granularitySpec"]
    assert granularity["segmentGranularity"] == "DAY"
    assert granularity["queryGranularity"] == "DAY"
    assert granularity["rollup"] is True
    assert granularity["intervals"] == ["2024-01-01T00:00:00.000Z/2024-02-01T00:00:00.000Z"]
    assert schema["timestampSpec"] == {"column": "day", "format": "yyyy-MM-dd"}
    io = spec["spec"]["ioConfig"]
    assert io["inputSource"] == {
        "type": "local", "baseDir": "/tmp/export/asset_audience_day", "filter": "*.json",
    }  # fmt: skip
    assert io["inputFormat"] == {"type": "json"}
    # replace (not append) the whole interval, dropping days that are now empty
    assert io["appendToExisting"] is False and io["dropExisting"] is True
    tuning = spec["spec"]["tuningConfig"]
    assert tuning["partitionsSpec"]["type"] == "dynamic"
    # an unparseable row fails the task rather than being dropped silently
    assert tuning["maxParseExceptions"] == 0


def test_country_spec_has_no_affinities() -> None:
    spec = ingestion_spec(
        datasource="x_asset_country_day",
        rollup=ASSET_COUNTRY_DAY,
        base_dir=Path("/d"),
        interval=interval_text(date(2024, 3, 1), date(2024, 3, 1)),
        lg_k=14,
    )
    dims = spec["spec"]["dataSchema"]["dimensionsSpec"]["dimensions"]
    assert "affinities" not in [d["name"] for d in dims]
    assert spec["spec"]["dataSchema"]["granularitySpec"]["intervals"] == [
        "2024-03-01T00:00:00.000Z/2024-03-02T00:00:00.000Z"
    ]
