"""What a rule finds in a window: the same insight code the API answers with (peers,
appeal, anomalies, metrics) called over the same loaders and backend, not over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date

from keyart.alerts.records import Finding
from keyart.alerts.rules import AlertKind, RuleSpec
from keyart.insights import appeal, peers
from keyart.insights.measures import InsightMetric, metric_value
from keyart.query import Filter, Granularity, Interval, MetricValues
from keyart.resolvers.context import RequestContext
from keyart.resolvers.insights import asset_anomalies, asset_appeal, title_outliers
from keyart.resolvers.windowed import asset_metrics


def rule_filter(spec: RuleSpec) -> Filter:
    """The metric filter of a rule."""
    return Filter(
        asset_types=spec.asset_types, countries=spec.countries, affinities=spec.affinities
    )


def scope(ctx: RequestContext, spec: RuleSpec) -> list[tuple[str, list[str]]]:
    """(title, its asset ids in the rule's types) for every title the rule watches that the
    snapshot knows."""
    snapshot = ctx.snapshot
    titles = spec.title_ids if spec.title_ids is not None else sorted(snapshot.titles)
    wanted = spec.asset_types
    chosen = []
    for title_id in titles:
        info = snapshot.titles.get(title_id)
        if info is None:
            continue
        assets = [a for a in info.asset_ids if wanted is None or snapshot.assets[a].type in wanted]
        chosen.append((title_id, assets))
    return chosen


async def find(
    ctx: RequestContext, spec: RuleSpec, window: Interval, changed: Sequence[date]
) -> list[Finding]:
    """Every finding of the rule over `window`; anomalies only on `changed` days."""
    flt = rule_filter(spec)
    titles = scope(ctx, spec)
    if spec.kind is AlertKind.OUTLIER:
        jobs = [_outliers(ctx, t, window, flt, spec.the_metric) for t, _ in titles]
    elif spec.kind is AlertKind.CLICKBAIT:
        jobs = [_clickbait(ctx, t, a, window, flt) for t, assets in titles for a in assets]
    elif spec.kind is AlertKind.ANOMALY:
        days = set(changed)
        jobs = [
            _anomalies(ctx, t, a, window, flt, spec.the_metric, days)
            for t, assets in titles
            for a in assets
        ]
    else:
        assert spec.threshold is not None
        jobs = [
            _threshold(ctx, t, a, window, flt, spec.the_metric, spec.threshold)
            for t, assets in titles
            for a in assets
        ]
    found: list[Finding] = []
    for part in await asyncio.gather(*jobs):
        found.extend(part)
    return found


def _name(metric: InsightMetric) -> str:
    return metric.value.replace("_", " ")


async def _outliers(
    ctx: RequestContext, title_id: str, window: Interval, flt: Filter, metric: InsightMetric
) -> list[Finding]:
    tests = await title_outliers(ctx, title_id, window, flt, metric)
    return [
        Finding(
            t.asset_id,
            title_id,
            f"outlier:{metric.value}:{t.direction.value}",
            {metric.value: t.value, "peer_median": t.peer_median, "score": t.score},
            peers.describe(t),
        )
        for t in tests
    ]


async def _clickbait(
    ctx: RequestContext, title_id: str, asset_id: str, window: Interval, flt: Filter
) -> list[Finding]:
    found = await asset_appeal(ctx, ctx.snapshot.assets[asset_id], window, flt)
    if found.verdict is not appeal.Verdict.CLICKBAIT:
        return []
    values = {"effectiveness": found.effectiveness, "authenticity": found.authenticity}
    return [Finding(asset_id, title_id, "clickbait", values, appeal.describe(found))]


async def _anomalies(
    ctx: RequestContext,
    title_id: str,
    asset_id: str,
    window: Interval,
    flt: Filter,
    metric: InsightMetric,
    days: set[date],
) -> list[Finding]:
    found = await asset_anomalies(ctx, asset_id, window, Granularity.DAY, flt, metric)
    recent = [a for a in found if a.day in days]
    if not recent:
        return []
    last = recent[-1]
    reason = (
        f"{_name(metric)} on {last.day.isoformat()} was {last.value:.4g} against an expected "
        f"{last.expected:.4g} ({last.direction.value}, robust score {last.score:+.1f})"
    )
    values: dict[str, float | None] = {
        metric.value: last.value,
        "expected": last.expected,
        "score": last.score,
    }
    return [
        Finding(
            asset_id, title_id, f"anomaly:{metric.value}:{last.direction.value}", values, reason
        )
    ]


async def _threshold(
    ctx: RequestContext,
    title_id: str,
    asset_id: str,
    window: Interval,
    flt: Filter,
    metric: InsightMetric,
    threshold: float,
) -> list[Finding]:
    values: MetricValues = await asset_metrics(ctx, asset_id, window, flt)
    value = metric_value(metric, values)
    if value is None or value < threshold:
        return []
    reason = (
        f"{_name(metric)} {value:.4g} over {window.start.isoformat()}..{window.end.isoformat()} "
        f"is at or above the threshold {threshold:.4g}"
    )
    seen: dict[str, float | None] = {metric.value: value}
    return [Finding(asset_id, title_id, f"threshold:{metric.value}", seen, reason)]


__all__ = ["find", "rule_filter", "scope"]
