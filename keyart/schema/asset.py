"""The `Asset` type: metadata and all-time metrics from the snapshot, windowed metrics from
the OLAP backend through the request's loader."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from keyart.access.permissions import AdminOnly
from keyart.errors import NotFound
from keyart.query import Dimension
from keyart.resolvers import args
from keyart.resolvers import insights as insight
from keyart.resolvers import windowed as resolve
from keyart.resolvers.context import RequestContext
from keyart.resolvers.stackdiff import stack_diff
from keyart.schema.enums import AssetType, Granularity, InsightMetric
from keyart.schema.inputs import DateRange, MetricFilter, to_filter
from keyart.schema.insights import Anomaly, Appeal, PeriodChange, change_windows, ir_metric
from keyart.schema.metric_types import (
    AffinityMetrics,
    Availability,
    CountryMetrics,
    MetricPoint,
    Metrics,
    as_metrics,
)
from keyart.schema.rollout import Backend, StackDiff
from keyart.store.model import AssetInfo, Snapshot

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
    def of(cls, record: AssetInfo, snapshot: Snapshot) -> Asset:
        """The GraphQL view of a snapshot asset, with its snapshot metrics."""
        return cls(
            id=strawberry.ID(record.id),
            type=AssetType(record.type),
            name=record.name,
            tags=list(record.tags),
            media_url=record.media_url,
            record=record,
            all_time=as_metrics(snapshot.asset_alltime.get(record.id, resolve.EMPTY)),
            availability=Availability.of(snapshot.asset_countries.get(record.id, ())),
            all_time_appeal=Appeal.of(insight.stored_appeal(snapshot, record.id)),
        )

    @classmethod
    def shared(cls, ctx: RequestContext, record: AssetInfo) -> Asset:
        """The asset's view, built once per snapshot and shared by its requests: its
        snapshot fields are then plain attributes (schema/execution.py answers them)."""
        return ctx.shared("asset", record.id, lambda: cls.of(record, ctx.snapshot))

    @strawberry.field(description="The title this asset promotes.")
    def title(self, info: Info) -> Annotated[Title, strawberry.lazy("keyart.schema.title")]:
        from keyart.schema.title import Title

        snapshot = info.context.snapshot
        title = snapshot.titles.get(self.record.title_id)
        if title is None:
            raise NotFound(f"asset {self.record.id} names unknown title {self.record.title_id}")
        return Title.shared(info.context, title)

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
            ctx, Dimension.ASSET, self.record.id, interval, to_filter(filter), against.value
        )
        return StackDiff.of(diff)

    all_time: Metrics = strawberry.field(
        description="Metrics over all days of data, from the in-memory snapshot."
    )
    availability: Availability = strawberry.field(
        description="Countries where the asset had impressions (snapshot)."
    )

    @strawberry.field(description="Metrics over an inclusive window of days.")
    async def metrics(
        self, info: Info, window: DateRange, filter: MetricFilter | None = strawberry.UNSET
    ) -> Metrics:
        ctx = info.context
        interval = window.to_interval(ctx.settings.max_window_days)
        values = await resolve.asset_metrics(ctx, self.record.id, interval, to_filter(filter))
        return as_metrics(values)

    @strawberry.field(description="Every time bucket of the window, zero-filled.")
    async def timeseries(
        self,
        info: Info,
        window: DateRange,
        granularity: Granularity = Granularity.DAY,
        filter: MetricFilter | None = strawberry.UNSET,
    ) -> list[MetricPoint]:
        ctx = info.context
        interval = window.to_interval(ctx.settings.max_window_days)
        points = await resolve.asset_timeseries(
            ctx, self.record.id, interval, granularity.to_ir(), to_filter(filter)
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
        interval = window.to_interval(ctx.settings.max_window_days)
        groups = await resolve.asset_by_affinity(
            ctx, self.record.id, interval, to_filter(filter), args.top_n(top)
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
        interval = window.to_interval(ctx.settings.max_window_days)
        groups = await resolve.asset_by_country(
            ctx, self.record.id, interval, to_filter(filter), args.top_n(top)
        )
        return [CountryMetrics(country=g.key, metrics=as_metrics(g.metrics)) for g in groups]

    @strawberry.field(
        description="Effective vs authentic: how well the asset converts, and how engaged the "
        "plays it earns are, against its title's peers."
    )
    async def appeal(
        self, info: Info, window: DateRange, filter: MetricFilter | None = strawberry.UNSET
    ) -> Appeal:
        ctx = info.context
        interval = window.to_interval(ctx.settings.max_window_days)
        return Appeal.of(await insight.asset_appeal(ctx, self.record, interval, to_filter(filter)))

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
        interval = window.to_interval(ctx.settings.max_window_days)
        found = await insight.asset_anomalies(
            ctx,
            self.record.id,
            interval,
            (granularity or Granularity.DAY).to_ir(),
            to_filter(filter),
            ir_metric(metric),
        )
        return [Anomaly.of(a) for a in found]

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
        found = await insight.asset_change(ctx, self.record.id, interval, before, to_filter(filter))
        return PeriodChange.of(interval, before, found)


__all__ = ["Asset"]
