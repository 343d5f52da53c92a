"""Per-request DataLoaders that turn many per-asset (or per-title) metric requests into one
backend query per metric shape: all keys sharing (window, filter, granularity, breakdown)
become one IR query with an `asset_id IN (...)` (or `title_id IN (...)`) filter."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
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


def _matches_nothing(flt: Filter) -> bool:
    return any(len(values) == 0 for values in flt.constraints().values())


class MetricLoader:
    """A DataLoader of result rows per (shape, entity), batching by shape; created per
    request so that nothing leaks between requests (the shared cache is the executor's)."""

    def __init__(self, executor: QueryExecutor, data_version: str) -> None:
        self.executor = executor
        self.data_version = data_version
        self.queries: list[MetricQuery] = []  # the IR queries this request issued
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
        ids_by_shape: dict[Shape, dict[str, None]] = {}
        for key in keys:
            ids_by_shape.setdefault(key.shape, {})[key.entity_id] = None
        shapes = list(ids_by_shape)
        outcomes = await asyncio.gather(
            *(self._run(shape, list(ids_by_shape[shape])) for shape in shapes),
            return_exceptions=True,
        )
        by_shape: dict[Shape, dict[str, Rows] | BaseException] = {}
        for shape, outcome in zip(shapes, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                by_shape[shape] = outcome
            else:
                by_shape[shape] = _split(outcome, shape.entity)
        answers: list[Rows | BaseException] = []
        for key in keys:
            found = by_shape[key.shape]
            answers.append(
                found if isinstance(found, BaseException) else found.get(key.entity_id, ())
            )
        return answers

    async def _run(self, shape: Shape, entity_ids: list[str]) -> QueryResult:
        query = shape.query(sorted(entity_ids))
        if _matches_nothing(query.filter):
            return QueryResult(())
        self.queries.append(query)
        return await self.executor.execute(query, self.data_version)


def _split(result: QueryResult, entity: Dimension) -> dict[str, Rows]:
    grouped: dict[str, list[ResultRow]] = {}
    for row in result.rows:
        grouped.setdefault(row.get(entity), []).append(row)
    return {entity_id: tuple(rows) for entity_id, rows in grouped.items()}


__all__ = ["MetricKey", "MetricLoader", "Rows", "Shape"]
