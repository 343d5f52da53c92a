"""Period over period: each insight metric in a window against a previous window, with the
difference's ~2σ interval (sampling and sketch error) and its significance."""

from __future__ import annotations

import math
from dataclasses import dataclass

from keyart.insights.measures import InsightMetric, measure, qualifies
from keyart.insights.significance import ALPHA, two_sided_p
from keyart.query.results import Estimate, MetricValues

_SIGMAS = 2.0


@dataclass(frozen=True, slots=True)
class MetricChange:
    """One metric in the current and the previous window."""

    metric: InsightMetric
    current: float | None
    previous: float | None
    difference: Estimate | None  # current − previous, ~2σ bounds
    ratio: float | None  # current / previous
    p_value: float | None
    significant: bool


def _testable(metric: InsightMetric, current: MetricValues, previous: MetricValues) -> bool:
    if metric.is_rate:
        return qualifies(metric, current) and qualifies(metric, previous)
    # a volume may well drop to nothing; one window with enough data suffices
    return qualifies(metric, current) or qualifies(metric, previous)


def metric_change(
    metric: InsightMetric, current: MetricValues, previous: MetricValues
) -> MetricChange:
    """The change of one metric between two windows."""
    now, before = measure(metric, current), measure(metric, previous)
    if now is None or before is None:
        return MetricChange(
            metric,
            None if now is None else now.value,
            None if before is None else before.value,
            None,
            None,
            None,
            False,
        )
    delta = now.value - before.value
    sigma = math.sqrt(now.variance + before.variance)
    p = two_sided_p(delta, now.variance + before.variance)
    return MetricChange(
        metric,
        now.value,
        before.value,
        Estimate(delta, delta - _SIGMAS * sigma, delta + _SIGMAS * sigma),
        now.value / before.value if before.value > 0 else None,
        p,
        _testable(metric, current, previous) and p <= ALPHA,
    )


def period_change(current: MetricValues, previous: MetricValues) -> list[MetricChange]:
    """Every insight metric's change, in InsightMetric order."""
    return [metric_change(m, current, previous) for m in InsightMetric]


__all__ = ["MetricChange", "metric_change", "period_change"]
