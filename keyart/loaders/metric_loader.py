"""Per-request DataLoaders that turn many per-asset (or per-title) metric requests into one
backend query per metric shape: all keys sharing (window, filter, granularity, breakdown)
become one IR query with an `asset_id IN (...)` (or `title_id IN (...)`) filter."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from strawberry.dataloader import DataLoader

from keyart.loaders.executor import QueryExecutor
from keyart.query import (
    Dimension,
    Filter,
    Granularity,
    Interval,
    MetricQuery,
    QueryResult,
    ResultRow,
)


@dataclass(frozen=True, slots=True)
class Shape:
    """What a batch of keys shares: everything of a query except the entities asked for."""

    interval: Interval
    filter: Filter = field(default_factory=Filter)
    granularity: Granularity = Granularity.ALL
    breakdown: tuple[Dimension, ...] = ()
    entity: Dimension = Dimension.ASSET  # ASSET or TITLE

    def query(self, entity_ids: Sequence[str]) -> MetricQuery:
        """The IR query answering this shape for the given entities."""
        if self.entity is Dimension.TITLE:
            flt = self.filter.replace_titles(entity_ids)
        else:
            flt = self.filter.replace_assets(entity_ids)
        return MetricQuery(
            interval=self.interval,
            granularity=self.granularity,
            filter=flt,
            group_by=(self.entity, *self.breakdown),
        )


@dataclass(frozen=True, slots=True)
class MetricKey:
    """One entity's metrics in one shape."""

    shape: Shape
    entity_id: str


Rows = tuple[ResultRow, ...]


class MetricLoader:
    """A DataLoader of result rows per (shape, entity), batching by shape; created per
    request so that nothing leaks between requests (the shared cache is the executor's)."""

    def __init__(
        self,
        executor: QueryExecutor,
        data_version: str,
        warehouse_version: str | None = None,
        route: Callable[[MetricKey], str | None] | None = None,
    ) -> None:
        self.executor = executor
        self.data_version = data_version
        # the served snapshot's warehouse version: every query of the request reads it
        self.warehouse_version = warehouse_version
        self.route = route  # the backend of each key (feature-flag routing); None: the server's
        self.queries: list[MetricQuery] = []  # the IR queries this request issued
        self.backends: set[str] = set()  # the backends that answered them
        self._loader: DataLoader[MetricKey, Rows] = DataLoader(load_fn=self._load_batch)
        self._batches: set[asyncio.Task[object]] = set()

    async def load(self, key: MetricKey) -> Rows:
        """The rows of one entity (no rows when it has no data in the shape)."""
        # shielded: Strawberry's DataLoader checks every future of a batch each time one
        # is cancelled, which is quadratic when a deadline cancels thousands of fields;
        # `cancel` stops the batches themselves instead
        return await asyncio.shield(self._loader.load(key))

    def cancel(self) -> int:
        """Cancel every batch still running (the request was stopped); how many."""
        running = [task for task in self._batches if not task.done()]
        for task in running:
            task.cancel()
        return len(running)

    async def _load_batch(self, keys: list[MetricKey]) -> list[Rows | BaseException]:
        task = asyncio.current_task()
        if task is not None:
            self._batches.add(task)
            task.add_done_callback(self._batches.discard)
        # one backend query per shape and routed backend
        ids_by_batch: dict[tuple[Shape, str | None], dict[str, None]] = {}
        batch_of: list[tuple[Shape, str | None]] = []
        for key in keys:
            batch = (key.shape, None if self.route is None else self.route(key))
            ids_by_batch.setdefault(batch, {})[key.entity_id] = None
            batch_of.append(batch)
        batches = list(ids_by_batch)
        outcomes = await asyncio.gather(
            *(self._run(shape, list(ids_by_batch[shape, b]), b) for shape, b in batches),
            return_exceptions=True,
        )
        by_batch: dict[tuple[Shape, str | None], dict[str, Rows] | BaseException] = {}
        for batch, outcome in zip(batches, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                by_batch[batch] = outcome
            else:
                by_batch[batch] = _split(outcome, batch[0].entity)
        answers: list[Rows | BaseException] = []
        for key, batch in zip(keys, batch_of, strict=True):
            found = by_batch[batch]
            answers.append(
                found if isinstance(found, BaseException) else found.get(key.entity_id, ())
            )
        return answers

    async def _run(self, shape: Shape, entity_ids: list[str], backend: str | None) -> QueryResult:
        return await self.run(shape.query(sorted(entity_ids)), backend)

    async def run(self, query: MetricQuery, backend: str | None = None) -> QueryResult:
        """One whole IR query (not batched by entity), through the shared cache, on
        `backend` (default: the server's own); nothing reaches a backend when the filter
        matches nothing."""
        if query.filter.matches_nothing:
            return QueryResult(())
        self.queries.append(query)
        self.backends.add(backend or self.executor.primary_name)
        return await self.executor.execute(
            query, self.data_version, self.warehouse_version, backend
        )


def _split(result: QueryResult, entity: Dimension) -> dict[str, Rows]:
    grouped: dict[str, list[ResultRow]] = {}
    for row in result.rows:
        grouped.setdefault(row.get(entity), []).append(row)
    return {entity_id: tuple(rows) for entity_id, rows in grouped.items()}


__all__ = ["MetricKey", "MetricLoader", "Rows", "Shape"]
