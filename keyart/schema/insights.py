"""GraphQL output types of the insights that name no asset: appeal, anomalies and
period-over-period change (docs/insights.md)."""

from __future__ import annotations

import datetime as dt
from typing import cast

import strawberry

from keyart.insights import anomalies, appeal, change
from keyart.insights import measures as ir
from keyart.query import Interval, MetricValues
from keyart.resolvers import insights as insight
from keyart.resolvers.context import RequestContext
from keyart.schema.enums import AppealVerdict, Direction, InsightMetric
from keyart.schema.inputs import DateRange
from keyart.schema.metric_types import Estimate, Metrics, as_metrics


def ir_metric(metric: InsightMetric | None) -> ir.InsightMetric:
    """The insights' metric of an optional `InsightMetric` argument (TAKE_RATE when null)."""
    return ir.InsightMetric((metric or InsightMetric.TAKE_RATE).value)


def change_windows(
    ctx: RequestContext, window: DateRange, previous: DateRange | None
) -> tuple[Interval, Interval]:
    """The window of a period-over-period question and the one it is compared with (by
    default the equally long window just before it)."""
    limit = ctx.settings.max_window_days
    interval = window.to_interval(limit)
    before = insight.previous_window(interval, previous.to_interval(limit) if previous else None)
    return interval, before


@strawberry.type(description="An inclusive range of UTC days (as answered).")
class Window:
    start: dt.date
    end: dt.date

    @classmethod
    def of(cls, interval: Interval) -> Window:
        """The window of an IR interval."""
        return cls(start=interval.start, end=interval.end)


@strawberry.type(
    description="Effective vs authentic: take rate and authenticity relative to the peers' "
    "median, and the verdict they give."
)
class Appeal:
    verdict: AppealVerdict
    effectiveness: float | None = strawberry.field(
        description="The asset's take rate / its peers' median take rate."
    )
    authenticity: float | None = strawberry.field(
        description="The asset's authenticity / its peers' median authenticity."
    )
    reason: str

    @classmethod
    def of(cls, found: appeal.Appeal) -> Appeal:
        """The GraphQL view of an appeal."""
        return cls(
            verdict=AppealVerdict.of(found.verdict),
            effectiveness=found.effectiveness,
            authenticity=found.authenticity,
            reason=appeal.describe(found),
        )


@strawberry.type(description="A time bucket whose metric departs from the asset's baseline.")
class Anomaly:
    date: dt.date = strawberry.field(description="The bucket's start.")
    direction: Direction
    value: float
    expected: float = strawberry.field(description="The baseline's value for the bucket.")
    score: float = strawberry.field(
        description="Log departure from the baseline in robust spreads of the series."
    )

    @classmethod
    def of(cls, found: anomalies.Anomaly) -> Anomaly:
        """The GraphQL view of an anomaly."""
        return cls(
            date=found.day,
            direction=Direction.of(found.direction),
            value=found.value,
            expected=found.expected,
            score=found.score,
        )


@strawberry.type(description="One metric in the window and in the previous window.")
class MetricChange:
    metric: InsightMetric
    current: float | None
    previous: float | None
    difference: Estimate | None = strawberry.field(
        description="current − previous with ~95% bounds (sampling and sketch error)."
    )
    ratio: float | None = strawberry.field(description="current / previous.")
    p_value: float | None = strawberry.field(description="Two-sided, of the difference.")
    significant: bool = strawberry.field(
        description="p ≤ 0.05 and enough data in the windows (docs/insights.md)."
    )

    @classmethod
    def of(cls, found: change.MetricChange) -> MetricChange:
        """The GraphQL view of a metric's change."""
        diff = found.difference
        return cls(
            metric=InsightMetric(found.metric.value),
            current=found.current,
            previous=found.previous,
            difference=None if diff is None else cast(Estimate, diff),  # same fields
            ratio=found.ratio,
            p_value=found.p_value,
            significant=found.significant,
        )


@strawberry.type(description="Metrics of a window against a previous window, and the change.")
class PeriodChange:
    window: Window
    previous_window: Window
    current: Metrics
    previous: Metrics
    changes: list[MetricChange] = strawberry.field(
        description="Each insight metric's change, in InsightMetric order."
    )

    @classmethod
    def of(
        cls,
        interval: Interval,
        previous: Interval,
        found: tuple[MetricValues, MetricValues, list[change.MetricChange]],
    ) -> PeriodChange:
        """The GraphQL view of a period-over-period answer."""
        now, before, changes = found
        return cls(
            window=Window.of(interval),
            previous_window=Window.of(previous),
            current=as_metrics(now),
            previous=as_metrics(before),
            changes=[MetricChange.of(c) for c in changes],
        )


__all__ = [
    "Anomaly",
    "Appeal",
    "MetricChange",
    "PeriodChange",
    "Window",
    "change_windows",
    "ir_metric",
]
