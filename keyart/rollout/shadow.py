"""Shadow traffic: a sampled share of live backend queries replayed on another stack after
the answer is sent, compared with the rule of compare.py, counted and recorded.

The request path only offers a query (`offer`: a random draw and a `put_nowait`); one
worker task does the rest. A full queue drops the query (counted), so a slow or broken
shadow stack never slows the primary answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from keyart.errors import KeyartError
from keyart.query import MetricQuery, QueryResult
from keyart.rollout.compare import compare_results, disagreements
from keyart.rollout.pool import BackendPool
from keyart.state.rollout import Mismatch, MismatchStore
from keyart.telemetry import ApiMetrics

log = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 1000


@dataclass(frozen=True, slots=True)
class _Job:
    query: MetricQuery
    data_version: str
    warehouse_version: str | None  # what the primary read: the shadow reads the same
    primary: str
    result: QueryResult


class Shadow:
    """Replays sampled queries on `backend` of the pool (one worker, bounded queue)."""

    def __init__(
        self,
        backend: str,
        pool: BackendPool,
        sample: float,
        *,
        metrics: ApiMetrics | None = None,
        mismatches: MismatchStore | None = None,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self.backend = backend
        self.pool = pool
        self.sample = sample
        self.metrics = metrics
        self.mismatches = mismatches
        self.queue: asyncio.Queue[_Job] = asyncio.Queue(maxsize=queue_size)
        self._draw = draw
        self._worker: asyncio.Task[None] | None = None
        self.counts = {"match": 0, "mismatch": 0, "error": 0, "dropped": 0}

    def offer(
        self,
        query: MetricQuery,
        data_version: str,
        warehouse_version: str | None,
        primary: str,
        result: QueryResult,
    ) -> None:
        """Queue `query` for replay when it is drawn in the sample (never blocks)."""
        if primary == self.backend or self.sample <= 0 or self._draw() >= self.sample:
            return
        try:
            self.queue.put_nowait(_Job(query, data_version, warehouse_version, primary, result))
        except asyncio.QueueFull:
            self._count("dropped")

    def start(self) -> None:
        """Start the worker (in the running event loop)."""
        if self._worker is None:
            self._worker = asyncio.create_task(self._run(), name="keyart-shadow")

    async def drain(self) -> None:
        """Wait until every queued query has been replayed (tests, shutdown)."""
        await self.queue.join()

    async def aclose(self) -> None:
        """Stop the worker; queued queries are abandoned."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    async def _run(self) -> None:
        while True:
            job = await self.queue.get()
            try:
                await self._replay(job)
            except Exception:
                log.exception("shadow replay failed unexpectedly")
                self._count("error")
            finally:
                self.queue.task_done()

    async def _replay(self, job: _Job) -> None:
        try:
            shadowed = await self.pool.get(self.backend).execute(job.query, job.warehouse_version)
        except (KeyartError, OSError, TimeoutError) as exc:
            log.warning("shadow query on %s failed: %s", self.backend, exc)
            self._count("error")
            return
        bad = disagreements(compare_results(job.query, job.result, shadowed))
        if not bad:
            self._count("match")
            return
        self._count("mismatch")
        if self.mismatches is None:
            return
        now = datetime.now(UTC)
        text = job.query.cache_key()
        records = [
            Mismatch(
                now,
                job.data_version,
                job.primary,
                self.backend,
                text,
                group.label,
                v.metric.value,
                v.a,
                v.b,
                v.tolerance,
                v.excess,
            )
            for group, v in bad
        ]
        try:
            await asyncio.to_thread(self.mismatches.record, records)
        except KeyartError as exc:
            log.error("shadow mismatches not recorded: %s", exc)

    def _count(self, result: str) -> None:
        self.counts[result] += 1
        if self.metrics is not None:
            self.metrics.shadow_total.labels(result).inc()


__all__ = ["DEFAULT_QUEUE_SIZE", "Shadow"]
