"""stackDiff: one title's or asset's metrics from the stack that serves the request and
from another, compared with the rollout tolerance rule (keyart/rollout/compare.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from keyart.loaders import MetricKey, Shape
from keyart.query import ALL_METRICS, Dimension, Filter, Interval, MetricValues, QueryResult
from keyart.resolvers.context import RequestContext
from keyart.rollout.compare import Verdict, compare_values


@dataclass(frozen=True, slots=True)
class StackDiff:
    """Both stacks' names and the verdict of every metric."""

    backend: str
    against: str
    verdicts: tuple[Verdict, ...]


def _total(result: QueryResult) -> MetricValues:
    return result.rows[0].metrics if result.rows else MetricValues()


async def stack_diff(
    ctx: RequestContext,
    entity: Dimension,
    entity_id: str,
    interval: Interval,
    flt: Filter,
    against: str,
) -> StackDiff:
    """Ask the request's stack (as routed) and `against` the same question; compare."""
    loader = ctx.loader
    shape = Shape(interval, flt, entity=entity)
    routed = None if loader.route is None else loader.route(MetricKey(shape, entity_id))
    backend = routed or loader.executor.primary_name
    query = shape.query([entity_id])
    if query.filter.matches_nothing:  # both stacks would answer nothing: nothing to ask
        empty = MetricValues()
        return StackDiff(backend, against, compare_values(empty, empty, ALL_METRICS))
    ours, theirs = await asyncio.gather(
        loader.executor.execute(query, loader.data_version, loader.warehouse_version, backend),
        loader.executor.execute(query, loader.data_version, loader.warehouse_version, against),
    )
    return StackDiff(backend, against, compare_values(_total(ours), _total(theirs), query.metrics))


__all__ = ["StackDiff", "stack_diff"]
