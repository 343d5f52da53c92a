"""Runs IR queries against the backend through the result cache, timing each backend call."""

from __future__ import annotations

import time

from keyart.backends.base import Backend
from keyart.cache import ResultCache, result_key
from keyart.errors import BackendUnavailable, KeyartError
from keyart.metrics import ApiMetrics
from keyart.query import MetricQuery, QueryResult


class QueryExecutor:
    """The one door from the API to the OLAP backend: cache first, then the backend."""

    def __init__(
        self, backend: Backend, cache: ResultCache, metrics: ApiMetrics | None = None
    ) -> None:
        self.backend = backend
        self.cache = cache
        self.metrics = metrics
        self.backend_queries = 0  # how many queries reached the backend (tests, bench)

    async def execute(
        self, query: MetricQuery, data_version: str, warehouse_version: str | None = None
    ) -> QueryResult:
        """The answer to `query` over the data of `data_version`, read from warehouse
        version `warehouse_version` (the served snapshot's; None: the newest)."""
        return await self.cache.get_or_compute(
            result_key(query, data_version), lambda: self._run(query, warehouse_version)
        )

    async def _run(self, query: MetricQuery, warehouse_version: str | None) -> QueryResult:
        self.backend_queries += 1
        name = getattr(self.backend, "name", type(self.backend).__name__)
        started = time.perf_counter()
        try:
            result = await self.backend.execute(query, warehouse_version)
        except KeyartError as exc:
            if self.metrics:
                self.metrics.backend_errors.labels(name, exc.code).inc()
            raise
        except (OSError, TimeoutError) as exc:
            if self.metrics:
                self.metrics.backend_errors.labels(name, BackendUnavailable.code).inc()
            raise BackendUnavailable(f"backend {name} failed: {exc}") from exc
        finally:
            if self.metrics:
                self.metrics.backend_latency.labels(name).observe(time.perf_counter() - started)
        return result


__all__ = ["QueryExecutor"]
