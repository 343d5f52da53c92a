"""The `Title` type and the Relay-style `titles` connection."""

from __future__ import annotations

from datetime import date

import strawberry

from keyart.access.permissions import AdminOnly
from keyart.query import Dimension
from keyart.resolvers import insights as insight
from keyart.resolvers import windowed as resolve
from keyart.resolvers.context import RequestContext
from keyart.resolvers.stackdiff import stack_diff
from keyart.schema.asset import Asset
from keyart.schema.enums import AssetType, InsightMetric, TitleKind
from keyart.schema.inputs import DateRange, MetricFilter, to_filter
from keyart.schema.insights import PeriodChange, change_windows, ir_metric
from keyart.schema.metric_types import Availability, FilterOptions, Metrics, as_metrics
from keyart.schema.peers import Outlier
from keyart.schema.rollout import Backend, StackDiff
from keyart.store import queries
from keyart.store.model import Snapshot, TitleInfo

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
    def of(cls, record: TitleInfo, snapshot: Snapshot) -> Title:
        """The GraphQL view of a snapshot title, with its snapshot metrics and options."""
        options = snapshot.title_filter_options.get(record.id)
        return cls(
            id=strawberry.ID(record.id),
            name=record.name,
            kind=TitleKind(record.kind),
            genres=list(record.genres),
            launch_date=record.launch_date,
            record=record,
            all_time=as_metrics(snapshot.title_alltime.get(record.id, resolve.EMPTY)),
            availability=Availability.of(snapshot.title_countries.get(record.id, ())),
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
        return ctx.shared("title", record.id, lambda: cls.of(record, ctx.snapshot))

    @strawberry.field(description="The title's assets, optionally of one type.")
    def assets(self, info: Info, type: AssetType | None = strawberry.UNSET) -> list[Asset]:
        snapshot = info.context.snapshot
        wanted = None if type is None or type is strawberry.UNSET else type.value
        return [
            Asset.shared(info.context, a)
            for a in queries.title_assets(snapshot, self.record.id, wanted)
        ]

    @strawberry.field(description="Metrics over a window, distinct members across its assets.")
    async def metrics(
        self, info: Info, window: DateRange, filter: MetricFilter | None = strawberry.UNSET
    ) -> Metrics:
        ctx = info.context
        interval = window.to_interval(ctx.settings.max_window_days)
        values = await resolve.title_metrics(ctx, self.record.id, interval, to_filter(filter))
        return as_metrics(values)

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
        interval = window.to_interval(ctx.settings.max_window_days)
        found = await insight.title_outliers(
            ctx,
            self.record.id,
            interval,
            to_filter(filter),
            ir_metric(metric),
        )
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

    @strawberry.field(
        description="Metrics of the window against a previous window (default: the equally "
        "long one just before) and each insight metric's change, with significance."
    )
    async def change(
        self,
        info: Info,
        window: DateRange,
        previous: DateRange | None = strawberry.UNSET,
        filter: MetricFilter | None = strawberry.UNSET,
    ) -> PeriodChange:
        ctx = info.context
        interval, before = change_windows(ctx, window, previous)
        found = await insight.title_change(ctx, self.record.id, interval, before, to_filter(filter))
        return PeriodChange.of(interval, before, found)

    @strawberry.field(
        permission_classes=[AdminOnly],
        description="The window's metrics from the stack serving this request and from "
        "`against`, side by side with per-metric tolerance (admin keys only).",
    )
    async def stack_diff(
        self,
        info: Info,
        window: DateRange,
        against: Backend,
        filter: MetricFilter | None = strawberry.UNSET,
    ) -> StackDiff | None:
        ctx = info.context
        interval = window.to_interval(ctx.settings.max_window_days)
        diff = await stack_diff(
            ctx, Dimension.TITLE, self.record.id, interval, to_filter(filter), against.value
        )
        return StackDiff.of(diff)

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
