"""The root `Query` type."""

# strawberry.field used as a decorator is typed `Any` by strawberry-graphql 0.341
# mypy: disable-error-code="untyped-decorator"

from __future__ import annotations

from datetime import date

import strawberry

from keyart.resolvers import args, catalog, rankings
from keyart.resolvers import insights as insight
from keyart.resolvers.context import RequestContext
from keyart.schema.admin import api_keys_field
from keyart.schema.alerts import alert_rules_field, alerts_field
from keyart.schema.asset import Asset
from keyart.schema.entity import windowed
from keyart.schema.enums import InsightMetric, TitleKind, TitleOrder
from keyart.schema.inputs import DateRange, MetricFilter
from keyart.schema.insights import ir_metric
from keyart.schema.peers import Comparison, ComparisonEntry
from keyart.schema.rankings import AssetRank
from keyart.schema.rollout import routing_rules_field, shadow_mismatches_field
from keyart.schema.title import Title, TitleConnection
from keyart.store import queries

Info = strawberry.Info[RequestContext, None]

MAX_TOP_ASSETS = 200  # the most assets one topAssets answer lists


def title_criteria(
    kinds: list[TitleKind] | None,
    genres: list[str] | None,
    launched_after: date | None = None,
    launched_before: date | None = None,
    *,
    kinds_name: str = "kinds",
) -> queries.TitleCriteria:
    """The title criteria of optional arguments (an empty list is BadUserInput naming it)."""
    kinds = args.given(kinds)
    kind_values = args.values(kinds_name, None if kinds is None else [k.value for k in kinds])
    genre_values = args.values("genres", args.given(genres))
    return queries.TitleCriteria(
        kinds=None if kind_values is None else frozenset(kind_values),
        genres=None if genre_values is None else frozenset(genre_values),
        launched_after=args.given(launched_after),
        launched_before=args.given(launched_before),
    )


@strawberry.type(description="The days the served data covers.")
class DataRange:
    first: date = strawberry.field(description="The first day with data (UTC).")
    last: date = strawberry.field(description="The last day with data (UTC).")
    days: int = strawberry.field(
        description="How many days between first and last (inclusive) hold data."
    )


@strawberry.type
class Query:
    @strawberry.field(description="One title by id; null when there is no such title.")
    def title(self, info: Info, id: strawberry.ID) -> Title | None:
        record = catalog.title(info.context, str(id))
        return None if record is None else Title.shared(info.context, record)

    @strawberry.field(
        description=(
            "Titles, Relay style, from the snapshot: search is a case-insensitive substring of"
            " the name; kinds and genres keep titles of any listed kind / with any listed"
            " genre; launchedAfter and launchedBefore are inclusive days (titles without a"
            " launch date are left out by either); all combine with AND. totalCount counts"
            " every matching title."
        )
    )
    def titles(
        self,
        info: Info,
        first: int | None = 50,
        after: str | None = strawberry.UNSET,
        search: str | None = strawberry.UNSET,
        kinds: list[TitleKind] | None = strawberry.UNSET,
        genres: list[str] | None = strawberry.UNSET,
        launched_after: date | None = strawberry.UNSET,
        launched_before: date | None = strawberry.UNSET,
        order_by: TitleOrder | None = TitleOrder.NAME,
    ) -> TitleConnection:
        page = catalog.titles_page(
            info.context,
            args.page_size(first),
            args.given(after),
            args.given(search),
            title_criteria(kinds, genres, launched_after, launched_before),
            (args.given(order_by) or TitleOrder.NAME).to_store(),
        )
        return TitleConnection.of(info.context, page)

    @strawberry.field(
        description=(
            "Assets across the catalog ranked by a metric over a window, best first (ties:"
            " more impressions, then asset id). Only assets with at least minImpressions"
            " impressions in the window and filter are ranked, and only those whose metric is"
            " defined (takeRate needs impressions, authenticity qualified plays). titleKinds"
            " and genres keep assets of titles of any listed kind / genre."
            f" first: 0..{MAX_TOP_ASSETS}; minImpressions >= 0."
        )
    )
    async def top_assets(
        self,
        info: Info,
        window: DateRange,
        metric: InsightMetric = InsightMetric.TAKE_RATE,
        filter: MetricFilter | None = strawberry.UNSET,
        title_kinds: list[TitleKind] | None = strawberry.UNSET,
        genres: list[str] | None = strawberry.UNSET,
        min_impressions: int | None = 1000,
        first: int | None = 20,
    ) -> list[AssetRank]:
        ctx = info.context
        interval, flt = windowed(ctx, window, filter)
        ranked = await rankings.top_assets(
            ctx,
            interval,
            ir_metric(metric),
            flt,
            title_criteria(title_kinds, genres, kinds_name="titleKinds"),
            args.bounded("minImpressions", min_impressions, 1000, 0, None),
            args.bounded("first", first, 20, 0, MAX_TOP_ASSETS),
        )
        return [AssetRank.of(ctx, r) for r in ranked]

    @strawberry.field(description="One asset by id; null when there is no such asset.")
    def asset(self, info: Info, id: strawberry.ID) -> Asset | None:
        record = catalog.asset(info.context, str(id))
        return None if record is None else Asset.shared(info.context, record)

    @strawberry.field(description="Assets by id, in the order asked; null for unknown ids.")
    def assets(self, info: Info, ids: list[strawberry.ID]) -> list[Asset | None]:
        ctx = info.context
        return [
            None if record is None else Asset.shared(ctx, record)
            for record in catalog.assets(ctx, [str(a) for a in ids])
        ]

    @strawberry.field(
        description="Assets side by side over one window: each against the baseline "
        "(default: the first), with significance."
    )
    async def compare(
        self,
        info: Info,
        assets: list[strawberry.ID],
        window: DateRange,
        filter: MetricFilter | None = strawberry.UNSET,
        baseline: strawberry.ID | None = strawberry.UNSET,
    ) -> Comparison:
        ctx = info.context
        interval, flt = windowed(ctx, window, filter)
        base = args.given(baseline)
        found = await insight.compare_assets(
            ctx, [str(a) for a in assets], None if base is None else str(base), interval, flt
        )
        return Comparison(
            baseline=Asset.shared(ctx, catalog.known_asset(ctx, found.baseline)),
            entries=[
                ComparisonEntry.of(ctx, a, v, c)
                for a, v, c in zip(found.asset_ids, found.values, found.entries, strict=True)
            ],
        )

    @strawberry.field(description="Every audience affinity label in the data.")
    def affinities(self, info: Info) -> list[str]:
        return list(catalog.affinities(info.context))

    @strawberry.field(
        description="Which days the served data covers; null when it names none (a snapshot "
        "published before keyart recorded its days)."
    )
    def data_range(self, info: Info) -> DataRange | None:
        covered = catalog.data_range(info.context)
        return (
            None
            if covered is None
            else DataRange(first=covered.first, last=covered.last, days=covered.days)
        )

    @strawberry.field(description="The snapshot version being served.")
    def data_version(self, info: Info) -> str:
        return catalog.data_version(info.context)

    @strawberry.field(description="The warehouse version the served snapshot was built from.")
    def warehouse_version(self, info: Info) -> str:
        return catalog.warehouse_version(info.context)

    api_keys = api_keys_field
    shadow_mismatches = shadow_mismatches_field
    routing_rules = routing_rules_field
    alert_rules = alert_rules_field
    alerts = alerts_field


__all__ = ["Query"]
