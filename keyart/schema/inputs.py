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
    description=(
        "Restricts metrics to events matching every given field (AND). A member's affinities"
        " apply to all of its events; a member without a profile has no affinities. An"
        " empty list is an error; leave a field out to not constrain it."
    )
)
class MetricFilter:
    countries: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Impressions/plays in any of these countries (ISO 3166-1 alpha-2).",
    )
    affinities: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description=(
            "The member has any of these affinities; also limits byAffinity groups to them."
        ),
    )
    asset_types: list[AssetType] | None = strawberry.field(
        default=strawberry.UNSET, description="Assets of any of these types."
    )
    exclude_countries: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Impressions/plays in none of these countries (ISO 3166-1 alpha-2).",
    )
    affinities_all: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description="The member has every one of these affinities.",
    )
    exclude_affinities: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description="The member has none of these affinities (members without any are kept).",
    )

    def to_filter(self) -> Filter:
        """The IR filter; BadUserInput for empty lists and malformed country codes."""
        asset_types = args.given(self.asset_types)
        return args.metric_filter(
            self.countries,
            self.affinities,
            None if asset_types is None else [t.value for t in asset_types],
            exclude_countries=self.exclude_countries,
            affinities_all=self.affinities_all,
            exclude_affinities=self.exclude_affinities,
        )


def to_filter(flt: MetricFilter | None) -> Filter:
    """The IR filter of an optional MetricFilter argument."""
    return Filter() if flt is None or flt is strawberry.UNSET else flt.to_filter()


__all__ = ["DateRange", "MetricFilter", "to_filter"]
