"""Turn Druid timeseries/groupBy result JSON into keyart `QueryResult`s."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from keyart.errors import BadBackendAnswer
from keyart.query.ir import Dimension, Granularity, Metric, MetricQuery
from keyart.query.results import ZERO, Estimate, MetricValues, QueryResult, ResultRow
from keyart.query.time import bucket_start


def parse_result(query: MetricQuery, payload: Any) -> QueryResult:
    """The result rows of a compiled query's Druid answer (groupBy or timeseries); groups
    whose requested metrics are all zero, and the null affinity group, are dropped."""
    if not isinstance(payload, list):
        raise BadBackendAnswer(
            f"Druid answered with {type(payload).__name__}, expected a list of rows"
        )
    rows: list[ResultRow] = []
    for item in payload:
        if not isinstance(item, Mapping):
            raise BadBackendAnswer(f"unexpected Druid result row: {item!r}")
        fields = item.get("event") if query.group_by else item.get("result")
        if not isinstance(fields, Mapping):
            raise BadBackendAnswer(f"Druid result row without event/result fields: {item!r}")
        dims = _dims(query.group_by, fields)
        if dims is None:
            continue
        metrics = _metrics(query, fields)
        if metrics is None:
            continue
        rows.append(ResultRow(_bucket(query, item.get("timestamp")), dims, metrics))
    return QueryResult(tuple(rows))


def _bucket(query: MetricQuery, timestamp: Any) -> date | None:
    if query.granularity is Granularity.ALL:
        return None
    if not isinstance(timestamp, str):
        raise BadBackendAnswer(f"Druid result row without a timestamp: {timestamp!r}")
    day = datetime.fromisoformat(timestamp.replace("Z", "+00:00")).date()
    # Druid stamps a bucket with its start already; normalising keeps the IR's rule explicit
    return bucket_start(day, query.granularity, query.interval)


def _dims(
    group_by: Sequence[Dimension], fields: Mapping[str, Any]
) -> tuple[tuple[Dimension, str], ...] | None:
    """The row's group-by values; None for the null affinity group (rows without labels)."""
    values: list[tuple[Dimension, str]] = []
    for dim in group_by:
        value = fields.get(dim.value)
        if value is None:
            if dim is Dimension.AFFINITY:
                # a member without affinities forms no affinity group (as in every backend)
                return None
            value = ""
        values.append((dim, str(value)))
    return tuple(values)


def _metrics(query: MetricQuery, fields: Mapping[str, Any]) -> MetricValues | None:
    """The requested metrics; None when all are zero (absent and zero mean the same, and
    the embedded backend reports no such group either)."""
    values: dict[str, Any] = {}
    for metric in query.metrics:
        raw = fields.get(metric.value)
        values[metric.value] = _estimate(metric, raw) if metric.is_sketch else _count(metric, raw)
    if all(v == 0 or v == ZERO for v in values.values()):
        return None
    return MetricValues(**values)


def _count(metric: Metric, raw: Any) -> int:
    if raw is None:
        return 0
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise BadBackendAnswer(f"Druid returned {raw!r} for count {metric.value}")
    return int(raw)


def _estimate(metric: Metric, raw: Any) -> Estimate:
    if raw is None:
        return ZERO
    if not isinstance(raw, Sequence) or isinstance(raw, str) or len(raw) != 3:
        raise BadBackendAnswer(
            f"Druid returned {raw!r} for {metric.value}; expected [estimate, lo, hi]"
        )
    value, lower, upper = (float(x) for x in raw)
    return Estimate(value, lower, upper)


__all__ = ["parse_result"]
