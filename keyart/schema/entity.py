"""Fields `Asset` and `Title` share, declared once: windowed metrics, period-over-period
change and stackDiff, each for the entity (asset or title) of the object it is read on."""

from __future__ import annotations

from typing import Any, Protocol

import strawberry

from keyart.access.permissions import AdminOnly
from keyart.query import Dimension, Filter, Interval
from keyart.resolvers import insights as insight
from keyart.resolvers import windowed as resolve
from keyart.resolvers.context import RequestContext
from keyart.resolvers.stackdiff import stack_diff
from keyart.schema.inputs import DateRange, MetricFilter, to_filter
from keyart.schema.insights import PeriodChange, change_windows
from keyart.schema.metric_types import Metrics, as_metrics
from keyart.schema.rollout import Backend, StackDiff

Info = strawberry.Info[RequestContext, None]


class _Record(Protocol):
    @property
    def id(self) -> str: ...


class Entity(Protocol):
    """An asset or title view: the snapshot record it shows."""

    @property
    def record(self) -> _Record: ...


def windowed(
    ctx: RequestContext, window: DateRange, flt: MetricFilter | None
) -> tuple[Interval, Filter]:
    """The IR interval (at most the settings' longest window) and filter of a windowed
    field's `window` and `filter` arguments."""
    return window.to_interval(ctx.settings.max_window_days), to_filter(flt)


def metrics_field(entity: Dimension, description: str) -> Any:
    """The `metrics(window, filter)` field of assets or titles."""
    load = resolve.asset_metrics if entity is Dimension.ASSET else resolve.title_metrics

    async def metrics(
        root: Entity, info: Info, window: DateRange, filter: MetricFilter | None = strawberry.UNSET
    ) -> Metrics:
        interval, flt = windowed(info.context, window, filter)
        return as_metrics(await load(info.context, root.record.id, interval, flt))

    return strawberry.field(resolver=metrics, description=description)


def change_field(entity: Dimension) -> Any:
    """The `change(window, previous, filter)` field of assets or titles."""
    compare = insight.asset_change if entity is Dimension.ASSET else insight.title_change

    async def change(
        root: Entity,
        info: Info,
        window: DateRange,
        previous: DateRange | None = strawberry.UNSET,
        filter: MetricFilter | None = strawberry.UNSET,
    ) -> PeriodChange:
        ctx = info.context
        interval, before = change_windows(ctx, window, previous)
        found = await compare(ctx, root.record.id, interval, before, to_filter(filter))
        return PeriodChange.of(interval, before, found)

    return strawberry.field(
        resolver=change,
        description="Metrics of the window against a previous window (default: the equally "
        "long one just before) and each insight metric's change, with significance.",
    )


def stack_diff_field(entity: Dimension) -> Any:
    """The admin-only `stackDiff(window, against, filter)` field of assets or titles."""

    async def stack_diff_of(
        root: Entity,
        info: Info,
        window: DateRange,
        against: Backend,
        filter: MetricFilter | None = strawberry.UNSET,
    ) -> StackDiff | None:
        interval, flt = windowed(info.context, window, filter)
        diff = await stack_diff(info.context, entity, root.record.id, interval, flt, against.value)
        return StackDiff.of(diff)

    return strawberry.field(
        resolver=stack_diff_of,
        permission_classes=[AdminOnly],
        description="The window's metrics from the stack serving this request and from "
        "`against`, side by side with per-metric tolerance (admin keys only).",
    )


__all__ = ["Entity", "change_field", "metrics_field", "stack_diff_field", "windowed"]
