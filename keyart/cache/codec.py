"""The text form of a backend result for caches outside the process (Redis): plain JSON
lists, decoded back into the same QueryResult."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from keyart.query import ALL_METRICS, Dimension, Estimate, MetricValues, QueryResult, ResultRow


def _estimate(e: Estimate) -> list[float]:
    return [e.value, e.lower, e.upper]


def encode_result(result: QueryResult) -> str:
    """A JSON text of a result made of plain lists (for caches outside the process)."""
    rows = []
    for row in result.rows:
        # every metric in IR order: a count as a number, an estimate as [value, lo, hi]
        values: list[Any] = [
            _estimate(value) if metric.is_sketch else value
            for metric in ALL_METRICS
            for value in [getattr(row.metrics, metric.value)]
        ]
        rows.append(
            [
                None if row.bucket is None else row.bucket.isoformat(),
                [[d.value, v] for d, v in row.dims],
                values,
            ]
        )
    return json.dumps(rows, separators=(",", ":"))


def decode_result(text: str | bytes) -> QueryResult:
    """The inverse of `encode_result`."""
    rows = []
    for bucket, dims, m in json.loads(text):
        values: dict[str, Any] = {
            metric.value: Estimate(*v) if metric.is_sketch else int(v)
            for metric, v in zip(ALL_METRICS, m, strict=True)
        }
        rows.append(
            ResultRow(
                None if bucket is None else date.fromisoformat(bucket),
                tuple((Dimension(d), v) for d, v in dims),
                MetricValues(**values),
            )
        )
    return QueryResult(tuple(rows))


__all__ = ["decode_result", "encode_result"]
