"""The result cache: backend answers keyed by IR query + data version, computed once.

Memory (aiocache `SimpleMemoryCache`, bounded here by entry count) by default, Redis
(`RedisCache`) when a `redis://` URL is configured. A new data version changes every key,
so new data invalidates the cache by itself. Identical queries in flight at the same time
are computed once (single-flight) and every waiter gets the same answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any
from urllib.parse import unquote, urlsplit

from aiocache import RedisCache, SimpleMemoryCache
from aiocache.base import BaseCache
from aiocache.serializers import StringSerializer

from keyart.errors import ConfigError
from keyart.query import (
    ALL_METRICS,
    Dimension,
    Estimate,
    MetricQuery,
    MetricValues,
    QueryResult,
    ResultRow,
)
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


class ResponseCache:
    """Whole GraphQL results of successful operations, keyed by document, variables,
    operation name and data version: an identical request over the same data skips
    execution entirely. In-process, LRU-bounded, with a TTL."""

    def __init__(self, max_entries: int = 1024, ttl_s: float = 3600.0) -> None:
        self._max_entries = max_entries
        self._ttl = ttl_s
        self._entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(
        query: str | None,
        variables: dict[str, Any] | None,
        operation: str | None,
        data_version: str,
    ) -> str | None:
        """The key of one request, or None when it cannot be keyed (no query text or
        variables that are not plain JSON)."""
        if not query:
            return None
        try:
            canonical = json.dumps(
                [data_version, operation, query, variables], sort_keys=True, separators=(",", ":")
            )
        except (TypeError, ValueError):
            return None
        return hashlib.sha256(canonical.encode()).hexdigest()

    def get(self, key: str) -> Any | None:
        """The stored result, or None when absent or expired."""
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            if entry is not None:
                del self._entries[key]
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry[1]

    def put(self, key: str, result: Any) -> None:
        """Store a result, evicting the least recently used beyond the bound."""
        self._entries[key] = (time.monotonic() + self._ttl, result)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


def redis_cache(url: str) -> RedisCache:
    """An aiocache RedisCache for `redis://[:password@]host[:port][/db]`."""
    parts = urlsplit(url)
    if parts.scheme != "redis" or not parts.hostname:
        raise ConfigError(f"cache_url must look like redis://host:port/db, got {url!r}")
    path = parts.path.strip("/")
    try:
        db = int(path) if path else 0
        port = parts.port or 6379
    except ValueError as exc:
        raise ConfigError(f"cache_url {url!r} has a bad port or db: {exc}") from exc
    return RedisCache(
        serializer=StringSerializer(),
        endpoint=parts.hostname,
        port=port,
        db=db,
        password=unquote(parts.password) if parts.password else None,
        create_connection_timeout=2.0,
    )


__all__ = [
    "ResponseCache",
    "ResultCache",
    "decode_result",
    "encode_result",
    "redis_cache",
    "result_key",
]
