"""GraphQL input types: a window of days and a metric filter, and their IR translation."""

from __future__ import annotations

from datetime import date

import strawberry

from keyart.query import Filter, Interval
from keyart.resolvers import args
from keyart.schema.enums import AssetType


@strawberry.input(description="An inclusive range of UTC days.")
class DateRange:
    start: date
    end: date

    def to_interval(self, max_days: int) -> Interval:
        """The IR interval; BadUserInput when end < start or longer than max_days."""
        return args.window(self.start, self.end, max_days)


@strawberry.input(
    description="Restricts metrics to countries, audience affinities (any-of) and asset types."
)
class MetricFilter:
    countries: list[str] | None = strawberry.UNSET
    affinities: list[str] | None = strawberry.UNSET
    asset_types: list[AssetType] | None = strawberry.UNSET

    def to_filter(self) -> Filter:
        """The IR filter; BadUserInput for malformed country codes."""
        asset_types = args.given(self.asset_types)
        return args.metric_filter(
            self.countries,
            self.affinities,
            None if asset_types is None else [t.value for t in asset_types],
        )


def to_filter(flt: MetricFilter | None) -> Filter:
    """The IR filter of an optional MetricFilter argument."""
    return Filter() if flt is None or flt is strawberry.UNSET else flt.to_filter()


__all__ = ["DateRange", "MetricFilter", "to_filter"]
