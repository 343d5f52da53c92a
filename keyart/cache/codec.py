"""The text form of a backend result for caches outside the process (Redis): plain JSON
lists, decoded back into the same QueryResult."""

from __future__ import annotations

import json
from datetime import date

from keyart.query import Dimension, Estimate, MetricValues, QueryResult, ResultRow


def _estimate(e: Estimate) -> list[float]:
    return [e.value, e.lower, e.upper]


def encode_result(result: QueryResult) -> str:
    """A JSON text of a result made of plain lists (for caches outside the process)."""
    rows = []
    for row in result.rows:
        m = row.metrics
        rows.append(
            [
                None if row.bucket is None else row.bucket.isoformat(),
                [[d.value, v] for d, v in row.dims],
                [
                    m.impressions,
                    _estimate(m.unique_impressions),
                    m.qualified_plays,
                    _estimate(m.unique_players),
                    m.play_seconds,
                    m.engaged_plays,
                ],
            ]
        )
    return json.dumps(rows, separators=(",", ":"))


def decode_result(text: str | bytes) -> QueryResult:
    """The inverse of `encode_result`."""
    rows = []
    for bucket, dims, m in json.loads(text):
        rows.append(
            ResultRow(
                None if bucket is None else date.fromisoformat(bucket),
                tuple((Dimension(d), v) for d, v in dims),
                MetricValues(
                    int(m[0]), Estimate(*m[1]), int(m[2]), Estimate(*m[3]), int(m[4]), int(m[5])
                ),
            )
        )
    return QueryResult(tuple(rows))


__all__ = ["decode_result", "encode_result"]
