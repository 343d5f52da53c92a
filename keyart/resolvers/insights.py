"""Insight resolvers: load metrics through the request's loader (one backend query per
title and shape, never per asset), then hand them to the pure statistics of keyart.insights."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from keyart.errors import BadUserInput
from keyart.insights import anomalies, appeal, change, compare, peers
from keyart.insights.measures import InsightMetric
from keyart.loaders import MetricKey, Shape
from keyart.query import Dimension, Filter, Granularity, Interval, MetricValues
from keyart.resolvers import coverage
from keyart.resolvers.context import RequestContext
from keyart.resolvers.windowed import EMPTY, asset_metrics, asset_timeseries, title_metrics
from keyart.store.model import AssetInfo

MAX_COMPARED = 50
NO_APPEAL = appeal.Appeal(appeal.Verdict.INSUFFICIENT_DATA, None, None)


async def title_peers(
    ctx: RequestContext, title_id: str, interval: Interval, flt: Filter
) -> list[peers.Peer]:
    """Every asset of a title with its metrics in the window and filter (zero without
    data); one query per shape answers all titles a request asks about."""
    coverage.check(ctx, title_id, interval, flt)
    shape = Shape(interval, flt, entity=Dimension.TITLE, breakdown=(Dimension.ASSET,))
    rows = await ctx.loader.load(MetricKey(shape, title_id))
    by_asset = {row.get(Dimension.ASSET): row.metrics for row in rows}
    snapshot = ctx.snapshot
    info = snapshot.titles.get(title_id)
    asset_ids = () if info is None else info.asset_ids
    wanted = flt.asset_types
    return [
        peers.Peer(a, snapshot.assets[a].type, by_asset.get(a, EMPTY))
        for a in asset_ids
        if wanted is None or snapshot.assets[a].type in wanted
    ]


async def _title_tests(
    ctx: RequestContext, title_id: str, interval: Interval, flt: Filter, metric: InsightMetric
) -> dict[str, peers.PeerTest]:
    # the tests of one title are shared by the title's fields and assets within a request
    memo: dict[tuple[object, ...], dict[str, peers.PeerTest]]
    memo = ctx.extras.setdefault("peer_tests", {})
    key = (title_id, interval, flt, metric)
    found = memo.get(key)
    if found is None:
        found = peers.peer_tests(await title_peers(ctx, title_id, interval, flt), metric)
        memo[key] = found
    return found


async def title_outliers(
    ctx: RequestContext, title_id: str, interval: Interval, flt: Filter, metric: InsightMetric
) -> list[peers.PeerTest]:
    """The title's assets standing out among their peers, most extreme first."""
    return peers.flagged(await _title_tests(ctx, title_id, interval, flt, metric))


async def asset_appeal(
    ctx: RequestContext, asset: AssetInfo, interval: Interval, flt: Filter
) -> appeal.Appeal:
    """An asset's effectiveness and authenticity against its title's peers, and verdict."""
    effect, engage = await asyncio.gather(
        _title_tests(ctx, asset.title_id, interval, flt, InsightMetric.TAKE_RATE),
        _title_tests(ctx, asset.title_id, interval, flt, InsightMetric.AUTHENTICITY),
    )
    return appeal.verdict(effect.get(asset.id), engage.get(asset.id))


async def asset_anomalies(
    ctx: RequestContext,
    asset_id: str,
    interval: Interval,
    granularity: Granularity,
    flt: Filter,
    metric: InsightMetric,
) -> list[anomalies.Anomaly]:
    """Buckets of an asset's series departing from its own baseline, in date order."""
    points = await asset_timeseries(ctx, asset_id, interval, granularity, flt)
    return anomalies.find_anomalies(points, metric, weekly=granularity is Granularity.DAY)


@dataclass(frozen=True, slots=True)
class Compared:
    """The assets of a comparison in answer order, the baseline, metrics and results."""

    asset_ids: list[str]
    baseline: str
    values: list[MetricValues]
    entries: list[compare.Comparison]


async def compare_assets(
    ctx: RequestContext,
    asset_ids: Sequence[str],
    baseline: str | None,
    interval: Interval,
    flt: Filter,
) -> Compared:
    """Each asset (once, in the order asked; a baseline not among them first) against the
    baseline (default: the first); one backend query answers all of them."""
    ids = list(dict.fromkeys(asset_ids))
    if not ids:
        raise BadUserInput("compare needs at least one asset")
    base = ids[0] if baseline is None else baseline
    if base not in ids:
        ids.insert(0, base)
    if len(ids) > MAX_COMPARED:
        raise BadUserInput(f"compare takes at most {MAX_COMPARED} assets, got {len(ids)}")
    unknown = [a for a in ids if a not in ctx.snapshot.assets]
    if unknown:
        raise BadUserInput(f"compare: unknown asset id(s) {', '.join(unknown[:10])}")
    values = list(await asyncio.gather(*(asset_metrics(ctx, a, interval, flt) for a in ids)))
    return Compared(ids, base, values, compare.compare(values, ids.index(base)))


def alltime_outliers(
    ctx: RequestContext, title_id: str, metric: InsightMetric
) -> tuple[peers.PeerTest, ...]:
    """A title's all-time outliers, precomputed into the snapshot at publish."""
    return ctx.snapshot.title_outliers.get(title_id, {}).get(metric, ())


def stored_appeal(ctx: RequestContext, asset_id: str) -> appeal.Appeal:
    """An asset's all-time appeal, precomputed into the snapshot at publish."""
    return ctx.snapshot.asset_appeal.get(asset_id, NO_APPEAL)


def previous_window(interval: Interval, previous: Interval | None) -> Interval:
    """The window compared against: the given one, or the one of equal length just before."""
    if previous is not None:
        return previous
    start: date = interval.start - timedelta(days=interval.days)
    return Interval(start, interval.start - timedelta(days=1))


async def asset_change(
    ctx: RequestContext, asset_id: str, interval: Interval, previous: Interval, flt: Filter
) -> tuple[MetricValues, MetricValues, list[change.MetricChange]]:
    """An asset's metrics in both windows and each insight metric's change."""
    now, before = await asyncio.gather(
        asset_metrics(ctx, asset_id, interval, flt), asset_metrics(ctx, asset_id, previous, flt)
    )
    return now, before, change.period_change(now, before)


async def title_change(
    ctx: RequestContext, title_id: str, interval: Interval, previous: Interval, flt: Filter
) -> tuple[MetricValues, MetricValues, list[change.MetricChange]]:
    """A title's metrics in both windows and each insight metric's change."""
    now, before = await asyncio.gather(
        title_metrics(ctx, title_id, interval, flt), title_metrics(ctx, title_id, previous, flt)
    )
    return now, before, change.period_change(now, before)


__all__ = [
    "MAX_COMPARED",
    "Compared",
    "alltime_outliers",
    "asset_anomalies",
    "asset_appeal",
    "asset_change",
    "compare_assets",
    "previous_window",
    "stored_appeal",
    "title_change",
    "title_outliers",
    "title_peers",
]
