"""GraphQL output types of the insights that name assets: outliers and comparisons."""

from __future__ import annotations

from typing import cast

import strawberry

from keyart.insights import peers
from keyart.insights.compare import Comparison as Compared
from keyart.query import MetricValues
from keyart.resolvers import catalog
from keyart.resolvers.context import RequestContext
from keyart.schema.asset import Asset
from keyart.schema.enums import Direction, InsightMetric
from keyart.schema.metric_types import Estimate, Metrics, as_metrics


def _asset(ctx: RequestContext, asset_id: str) -> Asset:
    return Asset.shared(ctx, catalog.known_asset(ctx, asset_id))


@strawberry.type(description="An asset whose metric stands out among its title's peers.")
class Outlier:
    asset: Asset
    metric: InsightMetric
    direction: Direction
    value: float
    peer_median: float = strawberry.field(
        description="The median of the peers' values (same title and type)."
    )
    score: float = strawberry.field(
        description="ln(value / peers' median) in robust spreads of the peers (modified z)."
    )
    p_value: float = strawberry.field(
        description="Sampling and sketch error included; Benjamini–Hochberg adjusted within "
        "the title."
    )
    reason: str

    @classmethod
    def of(cls, ctx: RequestContext, test: peers.PeerTest) -> Outlier:
        """The GraphQL view of a flagged peer test."""
        return cls(
            asset=_asset(ctx, test.asset_id),
            metric=InsightMetric(test.metric.value),
            direction=Direction.of(test.direction),
            value=test.value,
            peer_median=test.peer_median,
            score=test.score,
            p_value=test.p_value,
            reason=peers.describe(test),
        )


@strawberry.type(description="One asset of a comparison, against the baseline.")
class ComparisonEntry:
    asset: Asset
    metrics: Metrics
    take_rate_lift: Estimate | None = strawberry.field(
        description="takeRate / the baseline's takeRate with ~95% bounds (sampling and "
        "sketch error); null when either is undefined."
    )
    probability_better: float = strawberry.field(
        description="Probability that this asset's true takeRate exceeds the baseline's."
    )
    significant: bool = strawberry.field(
        description="The takeRates differ at the 0.05 level (Benjamini–Hochberg over the "
        "entries), both with enough data."
    )

    @classmethod
    def of(
        cls, ctx: RequestContext, asset_id: str, values: MetricValues, found: Compared
    ) -> ComparisonEntry:
        """The GraphQL view of one compared asset."""
        return cls(
            asset=_asset(ctx, asset_id),
            metrics=as_metrics(values),
            # an IR Estimate has exactly the fields of `Estimate`: served as is
            take_rate_lift=None if found.lift is None else cast(Estimate, found.lift),
            probability_better=found.probability_better,
            significant=found.significant,
        )


@strawberry.type(description="Assets side by side over one window, each against the baseline.")
class Comparison:
    baseline: Asset
    entries: list[ComparisonEntry]


__all__ = ["Comparison", "ComparisonEntry", "Outlier"]
