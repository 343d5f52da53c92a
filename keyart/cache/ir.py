"""The result cache: backend answers keyed by IR query + data version, computed once.

Memory (aiocache `SimpleMemoryCache`, bounded here by entry count) by default, Redis
(`RedisCache`) when a `redis://` URL is configured. A new data version changes every key,
so new data invalidates the cache by itself. Identical queries in flight at the same time
are computed once (single-flight) and every waiter gets the same answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiocache import SimpleMemoryCache
from aiocache.base import BaseCache

from keyart.cache.codec import decode_result, encode_result
from keyart.cache.redis_url import redis_cache
from keyart.query import MetricQuery, QueryResult
from keyart.telemetry import ApiMetrics

log = logging.getLogger(__name__)

DEFAULT_MAX_ENTRIES = 20_000
_NAMESPACE = "keyart:r:"


def result_key(query: MetricQuery, data_version: str, backend: str = "") -> str:
    """The cache key of one query over one data version answered by one backend (a
    fixed-length digest): routing may send the same question to different stacks."""
    text = f"{data_version}\n{query.cache_key()}" + (f"\n{backend}" if backend else "")
    digest = hashlib.sha256(text.encode()).hexdigest()
    return digest


class ResultCache:
    """Get-or-compute of backend results with single-flight; cache failures never fail a
    request (they count as misses and are logged)."""

    def __init__(
        self,
        store: BaseCache | None,
        *,
        ttl_s: int = 3600,
        encode: bool = False,
        max_entries: int | None = DEFAULT_MAX_ENTRIES,
        metrics: ApiMetrics | None = None,
    ) -> None:
        self._store = store
        self._ttl = ttl_s if ttl_s > 0 else None
        self._encode = encode
        self._max_entries = max_entries
        self._order: OrderedDict[str, None] = OrderedDict()
        self._inflight: dict[str, asyncio.Task[QueryResult]] = {}
        self._waiters: dict[asyncio.Future[QueryResult], int] = {}  # awaiting each task
        self.metrics = metrics

    @classmethod
    def from_settings(
        cls, cache_url: str | None, ttl_s: int, metrics: ApiMetrics | None = None
    ) -> ResultCache:
        """Memory cache by default, Redis for a redis:// URL; ttl_s <= 0 disables caching
        (single-flight still applies)."""
        if ttl_s <= 0:
            return cls(None, ttl_s=ttl_s, metrics=metrics)
        if not cache_url:
            return cls(SimpleMemoryCache(), ttl_s=ttl_s, metrics=metrics)
        return cls(
            redis_cache(cache_url), ttl_s=ttl_s, encode=True, max_entries=None, metrics=metrics
        )

    @property
    def enabled(self) -> bool:
        """Whether results are stored at all."""
        return self._store is not None

    @property
    def inflight(self) -> int:
        """Number of distinct queries being computed right now."""
        return len(self._inflight)

    async def get_or_compute(
        self, key: str, compute: Callable[[], Awaitable[QueryResult]]
    ) -> QueryResult:
        """The cached result for `key`, or the result of `compute()` (stored for next time).
        Concurrent callers with the same key share one computation."""
        task = self._inflight.get(key)
        if task is not None:
            if self.metrics:
                self.metrics.cache_coalesced.inc()
        else:
            task = asyncio.ensure_future(self._fill(key, compute))
            self._inflight[key] = task
            task.add_done_callback(lambda t: self._done(key, t))
        self._waiters[task] = self._waiters.get(task, 0) + 1
        try:
            # shield: a cancelled request must not cancel the computation others wait for
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            # ...but when every waiter gave up (deadline, client gone), the backend work
            # is stopped rather than left running for nobody
            if self._waiters.get(task) == 1:
                task.cancel()
            raise
        finally:
            left = self._waiters.get(task, 1) - 1
            if left > 0:
                self._waiters[task] = left
            else:
                self._waiters.pop(task, None)

    def _done(self, key: str, task: asyncio.Task[QueryResult]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled():
            task.exception()  # mark retrieved: waiters may all have gone away

    async def _fill(self, key: str, compute: Callable[[], Awaitable[QueryResult]]) -> QueryResult:
        cached = await self._get(key)
        if cached is not None:
            if self.metrics:
                self.metrics.cache_hits.inc()
            return cached
        if self.metrics:
            self.metrics.cache_misses.inc()
        result = await compute()
        await self._set(key, result)
        return result

    async def _get(self, key: str) -> QueryResult | None:
        if self._store is None:
            return None
        try:
            value = await self._store.get(_NAMESPACE + key)
        except Exception:  # a cache outage degrades to computing every answer
            self._cache_failed("get")
            return None
        if value is None:
            return None
        if self._encode:
            try:
                return decode_result(value)
            except (ValueError, TypeError, KeyError, IndexError):
                self._cache_failed("decode")
                return None
        if self._max_entries is not None and key in self._order:
            self._order.move_to_end(key)
        return value if isinstance(value, QueryResult) else None

    async def _set(self, key: str, result: QueryResult) -> None:
        if self._store is None:
            return
        value: Any = encode_result(result) if self._encode else result
        try:
            await self._store.set(_NAMESPACE + key, value, ttl=self._ttl)
        except Exception:
            self._cache_failed("set")
            return
        if self._max_entries is not None:
            self._order[key] = None
            self._order.move_to_end(key)
            while len(self._order) > self._max_entries:
                old, _ = self._order.popitem(last=False)
                try:
                    await self._store.delete(_NAMESPACE + old)
                except Exception:
                    self._cache_failed("delete")

    def _cache_failed(self, operation: str) -> None:
        log.warning("result cache %s failed; answering without the cache", operation, exc_info=True)
        if self.metrics:
            self.metrics.cache_errors.inc()

    async def clear(self) -> None:
        """Drop every cached result (tests, admin)."""
        if self._store is not None:
            await self._store.clear()
        self._order.clear()

    async def close(self) -> None:
        """Release the cache's connections."""
        for task in list(self._inflight.values()):
            task.cancel()
        if self._store is not None:
            await self._store.close()


__all__ = ["DEFAULT_MAX_ENTRIES", "ResultCache", "result_key"]
