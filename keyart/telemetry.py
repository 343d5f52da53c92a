"""Prometheus telemetry of one API app, kept in a per-app registry (not the global one)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from typing import Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, Metric

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_OPERATION_LABELS = 200  # operation names come from clients: bound the label cardinality


class PollStats(Protocol):
    """What the snapshot poll counts (keyart.store.consumer.ConsumerStats has these)."""

    @property
    def failures(self) -> int: ...

    @property
    def fallbacks(self) -> int: ...


class _SnapshotPolls:
    """Counters read from the snapshot consumer at each scrape (it keeps the counts)."""

    def __init__(self) -> None:
        self.stats: Callable[[], PollStats] | None = None

    def collect(self) -> Iterator[Metric]:
        stats = self.stats() if self.stats is not None else None
        yield CounterMetricFamily(
            "keyart_snapshot_poll_failures",
            "Snapshot polls that found a broken, missing or unreadable announcement or blob.",
            value=0 if stats is None else stats.failures,
        )
        yield CounterMetricFamily(
            "keyart_snapshot_fallbacks",
            "Loads of an older intact snapshot because the announced one was broken.",
            value=0 if stats is None else stats.fallbacks,
        )


class ApiMetrics:
    """Request, backend, cache and snapshot metrics exposed at `/metrics`."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.request_latency = Histogram(
            "keyart_graphql_request_seconds",
            "GraphQL operation latency, by operation name.",
            ["operation"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.graphql_errors = Counter(
            "keyart_graphql_errors_total", "GraphQL errors returned, by code.", ["code"], registry=r
        )
        self.backend_latency = Histogram(
            "keyart_backend_query_seconds",
            "Latency of queries sent to the OLAP backend, by backend.",
            ["backend"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.backend_errors = Counter(
            "keyart_backend_errors_total",
            "Backend queries that failed, by backend and error code.",
            ["backend", "code"],
            registry=r,
        )
        self.cache_hits = Counter(
            "keyart_cache_hits_total", "Result cache lookups answered from the cache.", registry=r
        )
        self.cache_misses = Counter(
            "keyart_cache_misses_total",
            "Result cache lookups that ran a backend query.",
            registry=r,
        )
        self.cache_coalesced = Counter(
            "keyart_cache_coalesced_total",
            "Lookups that waited for an identical query already in flight.",
            registry=r,
        )
        self.response_cache_hits = Counter(
            "keyart_response_cache_hits_total",
            "GraphQL requests answered with a stored whole result (same query, same data).",
            registry=r,
        )
        self.backend_answers = Counter(
            "keyart_backend_answers_total",
            "IR queries answered (from the result cache or the backend), by the backend "
            "routing chose.",
            ["backend"],
            registry=r,
        )
        self.shadow_total = Counter(
            "keyart_shadow_total",
            "Shadow replays of live backend queries, by result (match, mismatch, error, "
            "dropped when the queue was full).",
            ["result"],
            registry=r,
        )
        self.cache_errors = Counter(
            "keyart_cache_errors_total", "Result cache operations that failed.", registry=r
        )
        self.snapshot_info = Info(
            "keyart_snapshot", "The snapshot version being served.", registry=r
        )
        self.snapshot_age = Gauge(
            "keyart_snapshot_age_seconds", "Seconds since the served snapshot was made.", registry=r
        )
        self.snapshot_loaded = Gauge(
            "keyart_snapshot_loaded", "1 when a snapshot is loaded, else 0.", registry=r
        )
        self.refusals = Counter(
            "keyart_http_refusals_total",
            "HTTP requests refused before execution (key, rate limit, body, overload), by code.",
            ["code"],
            registry=r,
        )
        self.requests_inflight = Gauge(
            "keyart_graphql_requests_inflight", "GraphQL requests executing now.", registry=r
        )
        self.requests_queued = Gauge(
            "keyart_graphql_requests_queued",
            "GraphQL requests waiting for an execution slot now.",
            registry=r,
        )
        self.plain_field_execution = Gauge(
            "keyart_graphql_plain_field_execution",
            "1 when keyart's plain-field execution answers plain fields; 0 when stock "
            "graphql-core execution does (graphql-core/Strawberry outside the tested versions).",
            registry=r,
        )
        self._polls = _SnapshotPolls()
        r.register(self._polls)
        self._operations: set[str] = set()
        self._lock = threading.Lock()

    def watch_snapshots(self, stats: Callable[[], PollStats]) -> None:
        """Expose the snapshot consumer's poll failures and fallbacks (read at scrape)."""
        self._polls.stats = stats

    def operation_label(self, name: str | None) -> str:
        """A bounded label for a client-chosen operation name."""
        if not name:
            return "anonymous"
        if not _NAME.match(name):
            return "invalid"
        with self._lock:
            if name in self._operations:
                return name
            if len(self._operations) >= MAX_OPERATION_LABELS:
                return "other"
            self._operations.add(name)
            return name

    def observe_request(self, operation: str | None, seconds: float) -> None:
        """Record the latency of one GraphQL operation."""
        self.request_latency.labels(self.operation_label(operation)).observe(seconds)

    def set_snapshot(self, version: str | None, warehouse_version: str | None, age: float) -> None:
        """Publish which snapshot is served and how old it is."""
        if version is None:
            self.snapshot_loaded.set(0)
            return
        self.snapshot_loaded.set(1)
        self.snapshot_info.info({"version": version, "warehouse_version": warehouse_version or ""})
        self.snapshot_age.set(age)

    def render(self) -> bytes:
        """The registry in the Prometheus text exposition format."""
        return generate_latest(self.registry)


__all__ = ["ApiMetrics"]
