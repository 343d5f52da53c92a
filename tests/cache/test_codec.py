"""The text form of results for Redis: every field of every row survives the round trip."""

from __future__ import annotations

import json
from datetime import date

from keyart.cache.codec import decode_result, encode_result
from keyart.query import Dimension, Estimate, MetricValues, QueryResult, ResultRow

RESULT = QueryResult(
    (
        ResultRow(
            date(2024, 1, 1),
            ((Dimension.ASSET, "a1"), (Dimension.AFFINITY, "Drama fans")),
            MetricValues(10, Estimate(7.0, 6.5, 7.5), 3, Estimate(2.0, 2.0, 2.1), 900, 1),
        ),
        ResultRow(None, ((Dimension.ASSET, "a2"),), MetricValues()),
        ResultRow(date(2024, 2, 29), (), MetricValues(2**40, Estimate(1e9, 9e8, 1.1e9))),
    )
)


def test_encoding_round_trips_every_field() -> None:
    assert decode_result(encode_result(RESULT)) == RESULT
    assert decode_result(encode_result(RESULT).encode()) == RESULT  # Redis hands back bytes


def test_the_text_is_plain_json_lists() -> None:
    rows = json.loads(encode_result(RESULT))
    assert [row[0] for row in rows] == ["2024-01-01", None, "2024-02-29"]
    assert rows[0][1] == [[Dimension.ASSET.value, "a1"], [Dimension.AFFINITY.value, "Drama fans"]]
    assert decode_result(encode_result(QueryResult(()))) == QueryResult(())
