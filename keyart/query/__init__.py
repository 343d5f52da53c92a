"""The typed query IR that every backend compiles, and the result types they return."""

from keyart.query.ir import (
    ALL_METRICS,
    Dimension,
    Filter,
    Granularity,
    Interval,
    Metric,
    MetricQuery,
)
from keyart.query.results import Estimate, MetricValues, QueryResult, ResultRow
from keyart.query.time import bucket_start, buckets

__all__ = [
    "ALL_METRICS",
    "Dimension",
    "Estimate",
    "Filter",
    "Granularity",
    "Interval",
    "Metric",
    "MetricQuery",
    "MetricValues",
    "QueryResult",
    "ResultRow",
    "bucket_start",
    "buckets",
]
