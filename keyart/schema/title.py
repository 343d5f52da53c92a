"""The `Title` type and the Relay-style `titles` connection."""

# strawberry.field used as a decorator is typed `Any` by strawberry-graphql 0.341
# mypy: disable-error-code="untyped-decorator"

from __future__ import annotations

from datetime import date

import strawberry

from keyart.query import Dimension
from keyart.resolvers import catalog
from keyart.resolvers import insights as insight
from keyart.resolvers.context import RequestContext
from keyart.schema.asset import Asset
from keyart.schema.entity import change_field, metrics_field, stack_diff_field, windowed
from keyart.schema.enums import AssetType, InsightMetric, TitleKind
from keyart.schema.inputs import DateRange, MetricFilter
from keyart.schema.insights import ir_metric
from keyart.schema.metric_types import Availability, FilterOptions, Metrics, as_metrics
from keyart.schema.peers import Outlier
from keyart.store import queries
from keyart.store.model import TitleInfo

Info = strawberry.Info[RequestContext, None]


@strawberry.type(description="A series, film, live event or game, and its assets.")
class Title:
    id: strawberry.ID
    name: str
    kind: TitleKind
    genres: list[str]
    launch_date: date | None
    record: strawberry.Private[TitleInfo]

    @classmethod
    def of(cls, ctx: RequestContext, record: TitleInfo) -> Title:
        """The GraphQL view of a snapshot title, with its snapshot metrics and options."""
        options = catalog.title_filter_options(ctx, record.id)
        return cls(
            id=strawberry.ID(record.id),
            name=record.name,
            kind=TitleKind(record.kind),
            genres=list(record.genres),
            launch_date=record.launch_date,
            record=record,
            all_time=as_metrics(catalog.title_alltime(ctx, record.id)),
            availability=Availability.of(catalog.title_availability(ctx, record.id)),
            filter_options=(
                FilterOptions(countries=[], affinities=[])
                if options is None
                else FilterOptions(
                    countries=list(options.countries), affinities=list(options.affinities)
                )
            ),
        )

    @classmethod
    def shared(cls, ctx: RequestContext, record: TitleInfo) -> Title:
        """The title's view, built once per snapshot and shared by its requests."""
        return ctx.shared("title", record.id, lambda: cls.of(ctx, record))

    @strawberry.field(description="The title's assets, optionally of one type.")
    def assets(self, info: Info, type: AssetType | None = strawberry.UNSET) -> list[Asset]:
        wanted = None if type is None or type is strawberry.UNSET else type.value
        return [
            Asset.shared(info.context, a)
            for a in catalog.title_assets(info.context, self.record.id, wanted)
        ]

    metrics = metrics_field(
        Dimension.TITLE, "Metrics over a window, distinct members across its assets."
    )

    @strawberry.field(
        description="Assets whose metric stands out among this title's assets of the same "
        "type, most extreme first."
    )
    async def outliers(
        self,
        info: Info,
        window: DateRange,
        filter: MetricFilter | None = strawberry.UNSET,
        metric: InsightMetric | None = InsightMetric.TAKE_RATE,
    ) -> list[Outlier]:
        ctx = info.context
        interval, flt = windowed(ctx, window, filter)
        found = await insight.title_outliers(ctx, self.record.id, interval, flt, ir_metric(metric))
        return [Outlier.of(ctx, t) for t in found]

    @strawberry.field(description="The outliers over all days of data, from the snapshot.")
    def all_time_outliers(
        self, info: Info, metric: InsightMetric | None = InsightMetric.TAKE_RATE
    ) -> list[Outlier]:
        ctx = info.context
        chosen = ir_metric(metric)
        # the views are built once per snapshot, like the title's own
        return ctx.shared(
            "alltime_outliers",
            f"{self.record.id}:{chosen.value}",
            lambda: [
                Outlier.of(ctx, t) for t in insight.alltime_outliers(ctx, self.record.id, chosen)
            ],
        )

    change = change_field(Dimension.TITLE)
    stack_diff = stack_diff_field(Dimension.TITLE)

    all_time: Metrics = strawberry.field(
        description="Metrics over all days of data, from the snapshot."
    )
    availability: Availability = strawberry.field(
        description="Countries where any asset of the title had impressions."
    )
    filter_options: FilterOptions = strawberry.field(
        description="Countries and affinities present in the title's data."
    )


@strawberry.type
class TitleEdge:
    cursor: str
    node: Title


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type(
    description="A page of titles in the requested order (by default by name, then id)."
)
class TitleConnection:
    edges: list[TitleEdge]
    page_info: PageInfo
    total_count: int

    @classmethod
    def of(cls, ctx: RequestContext, page: queries.TitlePage) -> TitleConnection:
        """The connection of one page of titles."""
        return cls(
            edges=[TitleEdge(cursor=e.cursor, node=Title.shared(ctx, e.node)) for e in page.edges],
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
            total_count=page.total_count,
        )


__all__ = ["PageInfo", "Title", "TitleConnection", "TitleEdge"]
