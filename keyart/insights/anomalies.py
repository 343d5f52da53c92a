"""Buckets of an asset's time series whose metric departs from the asset's own baseline: a
rolling median level plus, with enough daily history, a weekday profile; a bucket is
flagged when its residual is far in robust spreads and significant given its counts."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from keyart.insights.measures import InsightMetric, Measure, measure, qualifies
from keyart.insights.peers import Direction
from keyart.insights.significance import (
    ALPHA,
    MAD_TO_SIGMA,
    OUTLIER_SCORE,
    adjust,
    median_variance,
    two_sided_p,
)
from keyart.query.results import MetricValues

# Buckets in the centred rolling median that gives the level (a week of days).
LEVEL_WINDOW = 7
# Fewest qualifying buckets for a baseline at all, and for a weekday profile (4 weeks).
MIN_HISTORY = 7
MIN_SEASONAL_HISTORY = 28
# Floor of the residuals' robust spread on the log scale (a 5% day-to-day wobble).
MIN_SPREAD = 0.05


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One bucket departing from its expected value."""

    day: date  # the bucket's start
    direction: Direction
    value: float
    expected: float
    score: float  # log residual in robust spreads of all residuals
    p_value: float  # Benjamini–Hochberg adjusted over the series' buckets


def _rolling_median(values: Sequence[float], window: int) -> list[float]:
    half = window // 2
    return [statistics.median(values[max(0, i - half) : i + half + 1]) for i in range(len(values))]


def find_anomalies(
    points: Sequence[tuple[date, MetricValues]], metric: InsightMetric, weekly: bool
) -> list[Anomaly]:
    """The anomalous buckets of a series in date order (`weekly`: buckets are days, so a
    weekday profile applies once there are MIN_SEASONAL_HISTORY of them)."""
    usable: list[tuple[date, Measure]] = []
    for day, values in points:
        found = measure(metric, values) if qualifies(metric, values) else None
        if found is not None:
            usable.append((day, found))
    if len(usable) < MIN_HISTORY:
        return []
    logs = [m.log_value for _, m in usable]
    window = min(LEVEL_WINDOW, len(usable))
    expected = _rolling_median(logs, window)
    if weekly and len(usable) >= MIN_SEASONAL_HISTORY:
        by_weekday: dict[int, list[float]] = {}
        for (day, _), y, level in zip(usable, logs, expected, strict=True):
            by_weekday.setdefault(day.weekday(), []).append(y - level)
        profile = {wd: statistics.median(r) for wd, r in by_weekday.items()}
        expected = [
            e + profile[day.weekday()] for (day, _), e in zip(usable, expected, strict=True)
        ]
    residuals = [y - e for y, e in zip(logs, expected, strict=True)]
    spread = max(MAD_TO_SIGMA * statistics.median([abs(r) for r in residuals]), MIN_SPREAD)
    level_variance = median_variance([m.log_variance for _, m in usable]) * len(usable) / window
    p_values = adjust(
        [
            two_sided_p(r, m.log_variance + level_variance)
            for r, (_, m) in zip(residuals, usable, strict=True)
        ]
    )
    found_list = [
        Anomaly(
            day=day,
            direction=Direction.HIGH if r > 0 else Direction.LOW,
            value=m.value,
            expected=math.exp(e),
            score=r / spread,
            p_value=p,
        )
        for (day, m), r, e, p in zip(usable, residuals, expected, p_values, strict=True)
    ]
    return [a for a in found_list if abs(a.score) >= OUTLIER_SCORE and a.p_value <= ALPHA]


__all__ = ["LEVEL_WINDOW", "MIN_HISTORY", "MIN_SEASONAL_HISTORY", "Anomaly", "find_anomalies"]
