"""Runs IR queries against a backend through the result cache, timing each backend call;
offers answered queries to shadow traffic."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from keyart.backends.base import Backend
from keyart.cache import ResultCache, result_key
from keyart.errors import BackendUnavailable, ConfigError, KeyartError
from keyart.query import MetricQuery, QueryResult
from keyart.telemetry import ApiMetrics

if TYPE_CHECKING:
    from keyart.rollout.pool import BackendPool
    from keyart.rollout.shadow import Shadow


class QueryExecutor:
    """The one door from the API to the OLAP backends: cache first, then the backend the
    caller names (routing), else the server's own."""

    def __init__(
        self,
        backend: Backend,
        cache: ResultCache,
        metrics: ApiMetrics | None = None,
        *,
        pool: BackendPool | None = None,
        shadow: Shadow | None = None,
    ) -> None:
        self.backend = backend
        self.cache = cache
        self.metrics = metrics
        self.pool = pool
        self.shadow = shadow
        self.backend_queries = 0  # how many queries reached a backend (tests, bench)

    @property
    def primary_name(self) -> str:
        """The name of the server's own backend."""
        return str(getattr(self.backend, "name", type(self.backend).__name__))

    def backend_named(self, name: str | None) -> Backend:
        """The backend called `name` (the server's own for None)."""
        if name is None or name == self.primary_name:
            return self.backend
        if self.pool is None:
            raise ConfigError(f"backend {name} is not available on this server")
        return self.pool.get(name)

    async def execute(
        self,
        query: MetricQuery,
        data_version: str,
        warehouse_version: str | None = None,
        backend: str | None = None,
    ) -> QueryResult:
        """The answer to `query` over the data of `data_version`, read from warehouse
        version `warehouse_version` (the served snapshot's; None: the newest) by `backend`
        (default: the server's own); the cache keeps each backend's answers apart."""
        name = backend or self.primary_name
        result = await self.cache.get_or_compute(
            result_key(query, data_version, name),
            lambda: self._run(query, name, warehouse_version),
        )
        if self.metrics:
            self.metrics.backend_answers.labels(name).inc()
        if self.shadow is not None:
            self.shadow.offer(query, data_version, warehouse_version, name, result)
        return result

    async def _run(
        self, query: MetricQuery, name: str, warehouse_version: str | None
    ) -> QueryResult:
        self.backend_queries += 1
        backend = self.backend_named(name)
        started = time.perf_counter()
        try:
            result = await backend.execute(query, warehouse_version)
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
