"""Catalog-wide rankings: assets ranked by a metric over a window, from one backend query."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from keyart.query import Dimension, Filter, Interval, MetricQuery, MetricValues
from keyart.resolvers import coverage
from keyart.resolvers.context import RequestContext
from keyart.store import queries
from keyart.store.model import AssetInfo


class RankMetric(StrEnum):
    """What an asset ranking orders by (the values of the GraphQL `InsightMetric`)."""

    TAKE_RATE = "take_rate"
    AUTHENTICITY = "authenticity"
    UNIQUE_IMPRESSIONS = "unique_impressions"
    QUALIFIED_PLAYS = "qualified_plays"

    def of(self, metrics: MetricValues) -> float | None:
        """The metric's value for one asset; None when it is undefined (a rate without a
        denominator), which leaves the asset out of the ranking."""
        if self is RankMetric.TAKE_RATE:
            rate = metrics.take_rate
            return None if rate is None else rate.value
        if self is RankMetric.AUTHENTICITY:
            return metrics.authenticity
        if self is RankMetric.UNIQUE_IMPRESSIONS:
            return metrics.unique_impressions.value
        return float(metrics.qualified_plays)


@dataclass(frozen=True, slots=True)
class Ranked:
    """One asset of a ranking: the asset, its metric value and all its metrics."""

    asset: AssetInfo
    value: float
    metrics: MetricValues


async def top_assets(
    ctx: RequestContext,
    interval: Interval,
    metric: RankMetric,
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
        value = metric.of(values)
        if value is not None:
            ranked.append(Ranked(asset, value, values))
    ranked.sort(key=lambda r: (-r.value, -r.metrics.impressions, r.asset.id))
    return ranked[:first]


__all__ = ["RankMetric", "Ranked", "top_assets"]
