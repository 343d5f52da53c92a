"""Catalog-wide rankings: assets ranked by a metric over a window, from one backend query."""

from __future__ import annotations

from dataclasses import dataclass

from keyart.insights.measures import InsightMetric, metric_value
from keyart.query import Dimension, Filter, Interval, MetricQuery, MetricValues
from keyart.resolvers import coverage
from keyart.resolvers.context import RequestContext
from keyart.store import queries
from keyart.store.model import AssetInfo


@dataclass(frozen=True, slots=True)
class Ranked:
    """One asset of a ranking: the asset, its metric value and all its metrics."""

    asset: AssetInfo
    value: float
    metrics: MetricValues


async def top_assets(
    ctx: RequestContext,
    interval: Interval,
    metric: InsightMetric,
    flt: Filter,
    titles: queries.TitleCriteria,
    min_impressions: int,
    first: int,
) -> list[Ranked]:
    """The `first` assets with at least `min_impressions` impressions in the window and
    filter, of titles meeting `titles`, best `metric` first (ties: more impressions, then
    asset id). One backend query grouped by asset answers it."""
    snapshot = ctx.snapshot
    coverage.check_catalog(ctx, interval, flt)
    if not titles.unconstrained:
        flt = flt.replace_titles(queries.matching_titles(snapshot, titles))
    if first == 0:
        return []
    query = MetricQuery(
        interval, filter=flt, group_by=(Dimension.ASSET,), min_impressions=min_impressions
    )
    result = await ctx.loader.run(query)
    ranked = []
    for row in result.rows:
        values = row.metrics
        asset = snapshot.assets.get(row.get(Dimension.ASSET))
        if asset is None:
            continue
        # an undefined value (a rate without a denominator) leaves the asset out
        value = metric_value(metric, values)
        if value is not None:
            ranked.append(Ranked(asset, value, values))
    ranked.sort(key=lambda r: (-r.value, -r.metrics.impressions, r.asset.id))
    return ranked[:first]


__all__ = ["Ranked", "top_assets"]
