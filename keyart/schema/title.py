"""The `Title` type and the Relay-style `titles` connection."""

from __future__ import annotations

from datetime import date

import strawberry

from keyart.resolvers import metrics as resolve
from keyart.resolvers.context import RequestContext
from keyart.schema.asset import Asset
from keyart.schema.enums import AssetType, TitleKind
from keyart.schema.inputs import DateRange, MetricFilter, to_filter
from keyart.schema.metrics import Availability, FilterOptions, Metrics, as_metrics
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
    def of(cls, record: TitleInfo) -> Title:
        """The GraphQL view of a snapshot title."""
        return cls(
            id=strawberry.ID(record.id),
            name=record.name,
            kind=TitleKind(record.kind),
            genres=list(record.genres),
            launch_date=record.launch_date,
            record=record,
        )

    @strawberry.field(description="The title's assets, optionally of one type.")
    def assets(self, info: Info, type: AssetType | None = strawberry.UNSET) -> list[Asset]:
        snapshot = info.context.snapshot
        wanted = None if type is None or type is strawberry.UNSET else type.value
        return [Asset.of(a) for a in queries.title_assets(snapshot, self.record.id, wanted)]

    @strawberry.field(description="Metrics over a window, distinct members across its assets.")
    async def metrics(
        self, info: Info, window: DateRange, filter: MetricFilter | None = strawberry.UNSET
    ) -> Metrics:
        ctx = info.context
        interval = window.to_interval(ctx.settings.max_window_days)
        values = await resolve.title_metrics(ctx, self.record.id, interval, to_filter(filter))
        return as_metrics(values)

    @strawberry.field(description="Metrics over all days of data, from the snapshot.")
    def all_time(self, info: Info) -> Metrics:
        return as_metrics(info.context.snapshot.title_alltime.get(self.record.id, resolve.EMPTY))

    @strawberry.field(description="Countries where any asset of the title had impressions.")
    def availability(self, info: Info) -> Availability:
        return Availability.of(info.context.snapshot.title_countries.get(self.record.id, ()))

    @strawberry.field(description="Countries and affinities present in the title's data.")
    def filter_options(self, info: Info) -> FilterOptions:
        options = info.context.snapshot.title_filter_options.get(self.record.id)
        if options is None:
            return FilterOptions(countries=[], affinities=[])
        return FilterOptions(countries=list(options.countries), affinities=list(options.affinities))


@strawberry.type
class TitleEdge:
    cursor: str
    node: Title


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type(description="A page of titles ordered by name, then id.")
class TitleConnection:
    edges: list[TitleEdge]
    page_info: PageInfo
    total_count: int

    @classmethod
    def of(cls, page: queries.TitlePage) -> TitleConnection:
        """The connection of one page of titles."""
        return cls(
            edges=[TitleEdge(cursor=e.cursor, node=Title.of(e.node)) for e in page.edges],
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
            total_count=page.total_count,
        )


__all__ = ["PageInfo", "Title", "TitleConnection", "TitleEdge"]
