"""GraphQL output types of metrics: estimates, metric sets, points and breakdown groups."""

from __future__ import annotations

import datetime as dt
from typing import cast

import strawberry

from keyart.query import MetricValues
from keyart.schema.scalars import Long


@strawberry.type(description="A distinct-count estimate with ~95% bounds (2 standard deviations).")
class Estimate:
    value: float
    lower: float
    upper: float


@strawberry.type(
    description="Counts are exact; uniqueImpressions and uniquePlayers are HLL sketch estimates."
)
class Metrics:
    impressions: Long
    unique_impressions: Estimate
    qualified_plays: Long
    unique_players: Estimate
    take_rate: Estimate | None = strawberry.field(
        description="uniquePlayers / uniqueImpressions; null without impressions."
    )
    play_seconds: Long
    engaged_plays: Long
    authenticity: float | None = strawberry.field(
        description="engagedPlays / qualifiedPlays; null without qualified plays."
    )


def as_metrics(values: MetricValues) -> Metrics:
    """Serve a MetricValues as `Metrics`: its attributes (and the take_rate/authenticity
    properties) have exactly the field names, so no copy is made."""
    return cast(Metrics, values)


@strawberry.type(description="Metrics of one time bucket; date is the bucket's start.")
class MetricPoint:
    date: dt.date
    metrics: Metrics


@strawberry.type(description="Metrics of the members carrying one audience affinity.")
class AffinityMetrics:
    affinity: str
    metrics: Metrics
    lift: float | None = strawberry.field(
        description="This affinity's takeRate / the asset's takeRate (same window and filter)."
    )


@strawberry.type(description="Metrics of the impressions shown in one country.")
class CountryMetrics:
    country: str
    metrics: Metrics


@strawberry.type(description="Countries with impressions, from the snapshot.")
class Availability:
    countries: list[str]
    country_count: int

    @classmethod
    def of(cls, countries: tuple[str, ...]) -> Availability:
        """Availability of a sorted country list."""
        return cls(countries=list(countries), country_count=len(countries))


@strawberry.type(description="Values a title's metrics can be filtered by.")
class FilterOptions:
    countries: list[str]
    affinities: list[str]


__all__ = [
    "AffinityMetrics",
    "Availability",
    "CountryMetrics",
    "Estimate",
    "FilterOptions",
    "MetricPoint",
    "Metrics",
    "as_metrics",
]
