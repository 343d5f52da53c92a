"""The `AssetRank` type of catalog-wide rankings (`Query.topAssets`)."""

from __future__ import annotations

import strawberry

from keyart.resolvers.context import RequestContext
from keyart.resolvers.rankings import Ranked
from keyart.schema.asset import Asset
from keyart.schema.metric_types import Metrics, as_metrics


@strawberry.type(
    description="One asset of a ranking: its value of the ranked metric and all metrics."
)
class AssetRank:
    asset: Asset
    value: float = strawberry.field(description="The asset's value of the ranked metric.")
    metrics: Metrics = strawberry.field(description="Every metric over the same window and filter.")

    @classmethod
    def of(cls, ctx: RequestContext, ranked: Ranked) -> AssetRank:
        """The GraphQL view of one ranked asset."""
        return cls(
            asset=Asset.shared(ctx, ranked.asset),
            value=ranked.value,
            metrics=as_metrics(ranked.metrics),
        )


__all__ = ["AssetRank"]
