"""The `Asset` type: metadata and all-time metrics from the snapshot, windowed metrics from
the OLAP backend through the request's loader."""

# strawberry.field used as a decorator is typed `Any` by strawberry-graphql 0.341
# mypy: disable-error-code="untyped-decorator"

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from keyart.query import Dimension
from keyart.resolvers import args, catalog
from keyart.resolvers import insights as insight
from keyart.resolvers import windowed as resolve
from keyart.resolvers.context import RequestContext
from keyart.schema.entity import change_field, metrics_field, stack_diff_field, windowed
from keyart.schema.enums import AssetType, Granularity, InsightMetric
from keyart.schema.inputs import DateRange, MetricFilter
from keyart.schema.insights import Anomaly, Appeal, ir_metric
from keyart.schema.metric_types import (
    AffinityMetrics,
    Availability,
    CountryMetrics,
    MetricPoint,
    Metrics,
    as_metrics,
)
from keyart.store.model import AssetInfo

if TYPE_CHECKING:
    from keyart.schema.title import Title

Info = strawberry.Info[RequestContext, None]


@strawberry.type(description="One artwork or video promoting a title.")
class Asset:
    id: strawberry.ID
    type: AssetType
    name: str
    tags: list[str]
    media_url: str | None
    record: strawberry.Private[AssetInfo]

    @classmethod
    def of(cls, ctx: RequestContext, record: AssetInfo) -> Asset:
        """The GraphQL view of a snapshot asset, with its snapshot metrics."""
        return cls(
            id=strawberry.ID(record.id),
            type=AssetType(record.type),
            name=record.name,
            tags=list(record.tags),
            media_url=record.media_url,
            record=record,
            all_time=as_metrics(catalog.asset_alltime(ctx, record.id)),
            availability=Availability.of(catalog.asset_availability(ctx, record.id)),
            all_time_appeal=Appeal.of(insight.stored_appeal(ctx, record.id)),
        )

    @classmethod
    def shared(cls, ctx: RequestContext, record: AssetInfo) -> Asset:
        """The asset's view, built once per snapshot and shared by its requests: its
        snapshot fields are then plain attributes (schema/execution.py answers them)."""
        return ctx.shared("asset", record.id, lambda: cls.of(ctx, record))

    @strawberry.field(description="The title this asset promotes.")
    def title(self, info: Info) -> Annotated[Title, strawberry.lazy("keyart.schema.title")]:
        from keyart.schema.title import Title

        return Title.shared(info.context, catalog.asset_title(info.context, self.record))

    stack_diff = stack_diff_field(Dimension.ASSET)

    all_time: Metrics = strawberry.field(
        description="Metrics over all days of data, from the in-memory snapshot."
    )
    availability: Availability = strawberry.field(
        description="Countries where the asset had impressions (snapshot)."
    )

    metrics = metrics_field(Dimension.ASSET, "Metrics over an inclusive window of days.")

    @strawberry.field(description="Every time bucket of the window, zero-filled.")
    async def timeseries(
        self,
        info: Info,
        window: DateRange,
        granularity: Granularity = Granularity.DAY,
        filter: MetricFilter | None = strawberry.UNSET,
    ) -> list[MetricPoint]:
        ctx = info.context
        interval, flt = windowed(ctx, window, filter)
        points = await resolve.asset_timeseries(
            ctx, self.record.id, interval, granularity.to_ir(), flt
        )
        return [MetricPoint(date=day, metrics=as_metrics(m)) for day, m in points]

    @strawberry.field(description="Metrics per audience affinity, by uniqueImpressions descending.")
    async def by_affinity(
        self,
        info: Info,
        window: DateRange,
        filter: MetricFilter | None = strawberry.UNSET,
        top: int | None = strawberry.UNSET,
    ) -> list[AffinityMetrics]:
        ctx = info.context
        interval, flt = windowed(ctx, window, filter)
        groups = await resolve.asset_by_affinity(
            ctx, self.record.id, interval, flt, args.top_n(top)
        )
        return [
            AffinityMetrics(affinity=g.key, metrics=as_metrics(g.metrics), lift=g.lift)
            for g in groups
        ]

    @strawberry.field(description="Metrics per country, by uniqueImpressions descending.")
    async def by_country(
        self,
        info: Info,
        window: DateRange,
        filter: MetricFilter | None = strawberry.UNSET,
        top: int | None = strawberry.UNSET,
    ) -> list[CountryMetrics]:
        ctx = info.context
        interval, flt = windowed(ctx, window, filter)
        groups = await resolve.asset_by_country(ctx, self.record.id, interval, flt, args.top_n(top))
        return [CountryMetrics(country=g.key, metrics=as_metrics(g.metrics)) for g in groups]

    @strawberry.field(
        description="Effective vs authentic: how well the asset converts, and how engaged the "
        "plays it earns are, against its title's peers."
    )
    async def appeal(
        self, info: Info, window: DateRange, filter: MetricFilter | None = strawberry.UNSET
    ) -> Appeal:
        ctx = info.context
        interval, flt = windowed(ctx, window, filter)
        return Appeal.of(await insight.asset_appeal(ctx, self.record, interval, flt))

    all_time_appeal: Appeal = strawberry.field(
        description="The appeal over all days of data, from the snapshot."
    )

    @strawberry.field(
        description="Days (or weeks) whose metric departs from the asset's own baseline."
    )
    async def anomalies(
        self,
        info: Info,
        window: DateRange,
        metric: InsightMetric | None = InsightMetric.TAKE_RATE,
        granularity: Granularity | None = Granularity.DAY,
        filter: MetricFilter | None = strawberry.UNSET,
    ) -> list[Anomaly]:
        ctx = info.context
        interval, flt = windowed(ctx, window, filter)
        found = await insight.asset_anomalies(
            ctx,
            self.record.id,
            interval,
            (granularity or Granularity.DAY).to_ir(),
            flt,
            ir_metric(metric),
        )
        return [Anomaly.of(a) for a in found]

    change = change_field(Dimension.ASSET)


__all__ = ["Asset"]
