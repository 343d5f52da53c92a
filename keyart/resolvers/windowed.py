"""Windowed metrics: build the IR shape, await the request's loader, shape the answer."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date

from keyart.loaders import MetricKey, Rows, Shape
from keyart.query import Dimension, Filter, Granularity, Interval, MetricValues, buckets
from keyart.resolvers import coverage
from keyart.resolvers.context import RequestContext

EMPTY = MetricValues()


@dataclass(frozen=True, slots=True)
class Group:
    """One group of a breakdown: its label, metrics and (for affinities) lift."""

    key: str
    metrics: MetricValues
    lift: float | None = None


def _asset_checked(ctx: RequestContext, asset_id: str, interval: Interval, flt: Filter) -> None:
    record = ctx.snapshot.assets.get(asset_id)
    coverage.check(ctx, None if record is None else record.title_id, interval, flt)


def _total(rows: Rows) -> MetricValues:
    # one row per entity for an ungrouped shape; none when the entity has no data
    return rows[0].metrics if rows else EMPTY


async def asset_metrics(
    ctx: RequestContext, asset_id: str, interval: Interval, flt: Filter
) -> MetricValues:
    """An asset's metrics over a window and filter."""
    _asset_checked(ctx, asset_id, interval, flt)
    rows = await ctx.loader.load(MetricKey(Shape(interval, flt), asset_id))
    ctx.check_deadline()
    return _total(rows)


async def title_metrics(
    ctx: RequestContext, title_id: str, interval: Interval, flt: Filter
) -> MetricValues:
    """A title's metrics: distinct members across all its assets (sketch union)."""
    coverage.check(ctx, title_id, interval, flt)
    shape = Shape(interval, flt, entity=Dimension.TITLE)
    rows = await ctx.loader.load(MetricKey(shape, title_id))
    ctx.check_deadline()
    return _total(rows)


async def asset_timeseries(
    ctx: RequestContext,
    asset_id: str,
    interval: Interval,
    granularity: Granularity,
    flt: Filter,
) -> list[tuple[date, MetricValues]]:
    """Every bucket of the window in order, zero-filled; a bucket's date is its start."""
    _asset_checked(ctx, asset_id, interval, flt)
    rows = await ctx.loader.load(MetricKey(Shape(interval, flt, granularity), asset_id))
    ctx.check_deadline()
    by_bucket = {row.bucket: row.metrics for row in rows}
    return [(day, by_bucket.get(day, EMPTY)) for day in buckets(interval, granularity)]


def _ranked(groups: list[Group], top: int | None) -> list[Group]:
    groups.sort(key=lambda g: (-g.metrics.unique_impressions.value, g.key))
    return groups if top is None else groups[:top]


async def asset_by_country(
    ctx: RequestContext, asset_id: str, interval: Interval, flt: Filter, top: int | None
) -> list[Group]:
    """An asset's metrics per country, by unique impressions descending."""
    _asset_checked(ctx, asset_id, interval, flt)
    shape = Shape(interval, flt, breakdown=(Dimension.COUNTRY,))
    rows = await ctx.loader.load(MetricKey(shape, asset_id))
    ctx.check_deadline()
    return _ranked([Group(r.get(Dimension.COUNTRY), r.metrics) for r in rows], top)


def lift(group: MetricValues, overall: MetricValues) -> float | None:
    """A group's takeRate over the overall takeRate (None when either is undefined)."""
    group_rate, overall_rate = group.take_rate, overall.take_rate
    if group_rate is None or overall_rate is None or overall_rate.value <= 0:
        return None
    return group_rate.value / overall_rate.value


async def asset_by_affinity(
    ctx: RequestContext, asset_id: str, interval: Interval, flt: Filter, top: int | None
) -> list[Group]:
    """An asset's metrics per audience affinity with lift, by unique impressions
    descending; lift compares with the asset's takeRate over the same window and filter."""
    _asset_checked(ctx, asset_id, interval, flt)
    shape = Shape(interval, flt, breakdown=(Dimension.AFFINITY,))
    rows, total = await asyncio.gather(
        ctx.loader.load(MetricKey(shape, asset_id)),
        ctx.loader.load(MetricKey(Shape(interval, flt), asset_id)),
    )
    ctx.check_deadline()
    overall = _total(total)
    groups = [Group(r.get(Dimension.AFFINITY), r.metrics, lift(r.metrics, overall)) for r in rows]
    return _ranked(groups, top)


__all__ = [
    "Group",
    "asset_by_affinity",
    "asset_by_country",
    "asset_metrics",
    "asset_timeseries",
    "lift",
    "title_metrics",
]
