"""Per-request DataLoaders: batch many per-entity metric requests into few backend queries."""

from keyart.loaders.executor import QueryExecutor
from keyart.loaders.metric_loader import MetricKey, MetricLoader, Rows, Shape

__all__ = ["MetricKey", "MetricLoader", "QueryExecutor", "Rows", "Shape"]
