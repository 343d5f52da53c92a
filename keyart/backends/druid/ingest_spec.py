"""Druid `index_parallel` ingestion specs for the warehouse rollups (JSON input, HLL merge)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from keyart.backends.druid.compile import TGT_HLL_TYPE
from keyart.backends.druid.specs import (
    AFFINITIES_COLUMN,
    COUNT_COLUMNS,
    ROWS_COLUMN,
    SINGLE_VALUE_DIMENSIONS,
    SKETCH_COLUMNS,
)
from keyart.warehouse.tables import Rollup

DEFAULT_MAX_ROWS_PER_SEGMENT = 5_000_000


def interval_text(first: date, last: date) -> str:
    """The half-open ISO interval covering the days first..last (inclusive) in UTC."""
    end = last + timedelta(days=1)
    return f"{first.isoformat()}T00:00:00.000Z/{end.isoformat()}T00:00:00.000Z"


def dimensions_spec(rollup: Rollup) -> dict[str, Any]:
    """Explicit dimensions: the string keys, plus the multi-value affinity set if kept."""
    dims: list[dict[str, Any]] = [{"type": "string", "name": n} for n in SINGLE_VALUE_DIMENSIONS]
    if rollup.affinity == "multi":
        # a member's label set; sorted-set handling makes equal sets roll up to one row
        dims.append(
            {"type": "string", "name": AFFINITIES_COLUMN, "multiValueHandling": "SORTED_SET"}
        )
    elif rollup.affinity is not None:
        raise ValueError(f"rollup {rollup.name} keeps affinities as {rollup.affinity!r}")
    return {"dimensions": dims}


def metrics_spec(lg_k: int) -> list[dict[str, Any]]:
    """longSum for the counts, HLLSketchMerge for the pre-built (base64) sketches, row count."""
    metrics: list[dict[str, Any]] = [{"type": "count", "name": ROWS_COLUMN}]
    metrics += [{"type": "longSum", "name": c, "fieldName": c} for c in COUNT_COLUMNS]
    metrics += [
        {
            "type": "HLLSketchMerge",
            "name": c,
            "fieldName": c,
            "lgK": lg_k,
            "tgtHllType": TGT_HLL_TYPE,
        }
        for c in SKETCH_COLUMNS
    ]
    return metrics


def ingestion_spec(
    *,
    datasource: str,
    rollup: Rollup,
    base_dir: Path,
    interval: str,
    lg_k: int,
    file_filter: str = "*.json",
    max_rows_per_segment: int = DEFAULT_MAX_ROWS_PER_SEGMENT,
    max_concurrent_subtasks: int = 1,
    max_rows_in_memory: int | None = None,
    max_bytes_in_memory: int | None = None,
) -> dict[str, Any]:
    """An `index_parallel` task replacing `interval` of `datasource` with the exported rows.

    `appendToExisting: false` with explicit intervals and `dropExisting: true` makes a load
    idempotent: re-running replaces every day of the interval, including days now empty.
    """
    tuning: dict[str, Any] = {
        "type": "index_parallel",
        "partitionsSpec": {"type": "dynamic", "maxRowsPerSegment": max_rows_per_segment},
        "maxNumConcurrentSubTasks": max_concurrent_subtasks,
        # a row Druid cannot parse fails the task (with Druid's message) instead of being
        # skipped silently
        "maxParseExceptions": 0,
        "maxSavedParseExceptions": 1,
        "logParseExceptions": True,
    }
    if max_rows_in_memory is not None:
        tuning["maxRowsInMemory"] = max_rows_in_memory
    if max_bytes_in_memory is not None:
        tuning["maxBytesInMemory"] = max_bytes_in_memory
    return {
        "type": "index_parallel",
        "spec": {
            "dataSchema": {
                "dataSource": datasource,
                "timestampSpec": {"column": "day", "format": "yyyy-MM-dd"},
                "dimensionsSpec": dimensions_spec(rollup),
                "metricsSpec": metrics_spec(lg_k),
                "granularitySpec": {
                    "type": "uniform",
                    "segmentGranularity": "DAY",
                    "queryGranularity": "DAY",
                    "rollup": True,
                    "intervals": [interval],
                },
            },
            "ioConfig": {
                "type": "index_parallel",
                "inputSource": {
                    "type": "local",
                    "baseDir": str(base_dir),
                    "filter": file_filter,
                },
                "inputFormat": {"type": "json"},
                "appendToExisting": False,
                "dropExisting": True,
            },
            "tuningConfig": tuning,
        },
    }


__all__ = [
    "DEFAULT_MAX_ROWS_PER_SEGMENT",
    "dimensions_spec",
    "ingestion_spec",
    "interval_text",
    "metrics_spec",
]
