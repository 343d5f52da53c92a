"""The metrics insights test and their sampling variance: binomial (or Poisson) sampling
plus the HLL sketches' own error, read from an estimate's ~2σ bounds."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from keyart.query.results import Estimate, MetricValues

# An Estimate's bounds sit at ±2 standard deviations (keyart.sketches.params.NUM_STD_DEV).
BOUND_SIGMAS = 2.0
# Minimum data for an asset (or a time bucket) to be tested at all: distinct impressed
# members, and qualified plays for authenticity. Below them nothing is ever flagged.
MIN_IMPRESSED = 100.0
MIN_QUALIFIED_PLAYS = 30


class InsightMetric(StrEnum):
    """A metric the insights compare: two rates and two volumes."""

    TAKE_RATE = "take_rate"
    AUTHENTICITY = "authenticity"
    UNIQUE_IMPRESSIONS = "unique_impressions"
    QUALIFIED_PLAYS = "qualified_plays"

    @property
    def is_rate(self) -> bool:
        """Whether the metric is a share (take rate, authenticity) rather than a volume."""
        return self in (InsightMetric.TAKE_RATE, InsightMetric.AUTHENTICITY)


@dataclass(frozen=True, slots=True)
class Measure:
    """One metric value with its sampling variance and its value and variance on the log
    scale (where the insights compare: effects of creatives are multiplicative)."""

    value: float
    variance: float
    log_value: float
    log_variance: float


def sketch_sigma(estimate: Estimate) -> float:
    """The standard deviation of a sketch estimate, from its ~2σ bounds."""
    return max(0.0, estimate.upper - estimate.lower) / (2 * BOUND_SIGMAS)


def _rate(hits: float, trials: float, extra_variance: float = 0.0) -> Measure:
    value = hits / trials
    # continuity-corrected share: finite logs and a non-zero variance at 0 and 1
    smooth = (hits + 0.5) / (trials + 1.0)
    variance = smooth * (1.0 - smooth) / trials + extra_variance
    return Measure(value, variance, math.log(smooth), variance / smooth**2)


def _volume(count: float, sketch_variance: float = 0.0, dispersion: float = 1.0) -> Measure:
    smooth = count + 0.5
    # Poisson sampling (times the events per member when members repeat), plus the sketch's
    variance = max(count, 1.0) * dispersion + sketch_variance
    return Measure(count, variance, math.log(smooth), variance / smooth**2)


def qualifies(metric: InsightMetric, values: MetricValues) -> bool:
    """Whether `values` hold enough data for `metric` to be tested (documented minimums)."""
    if values.unique_impressions.value < MIN_IMPRESSED:
        return False
    return metric is not InsightMetric.AUTHENTICITY or (
        values.qualified_plays >= MIN_QUALIFIED_PLAYS
    )


def measure(metric: InsightMetric, values: MetricValues) -> Measure | None:
    """The metric's value and variance; None when it is undefined (no denominator)."""
    if metric is InsightMetric.TAKE_RATE:
        imp, ply = values.unique_impressions, values.unique_players
        if imp.value <= 0:
            return None
        ratio = ply.value / imp.value
        # delta method for a ratio of two sketch estimates (errors taken as independent)
        sketch = ratio**2 * (
            (sketch_sigma(ply) / max(ply.value, 1.0)) ** 2 + (sketch_sigma(imp) / imp.value) ** 2
        )
        return _rate(min(ply.value, imp.value), imp.value, sketch)
    if metric is InsightMetric.AUTHENTICITY:
        if values.qualified_plays <= 0:
            return None
        return _rate(float(values.engaged_plays), float(values.qualified_plays))
    if metric is InsightMetric.UNIQUE_IMPRESSIONS:
        est = values.unique_impressions
        return _volume(est.value, sketch_sigma(est) ** 2)
    plays, players = float(values.qualified_plays), values.unique_players.value
    # plays come in clusters, a member's plays: with a geometric number per member of mean
    # k, the variance is the count times E[K²]/E[K] = 2k − 1
    per_player = max(1.0, plays / players) if players > 0 else 1.0
    return _volume(plays, dispersion=2.0 * per_player - 1.0)


def metric_value(metric: InsightMetric, values: MetricValues) -> float | None:
    """The plain value of `metric` (None when undefined), as the Metrics type reports it."""
    if metric is InsightMetric.TAKE_RATE:
        rate = values.take_rate
        return None if rate is None else rate.value
    if metric is InsightMetric.AUTHENTICITY:
        return values.authenticity
    if metric is InsightMetric.UNIQUE_IMPRESSIONS:
        return values.unique_impressions.value
    return float(values.qualified_plays)


__all__ = [
    "MIN_IMPRESSED",
    "MIN_QUALIFIED_PLAYS",
    "InsightMetric",
    "Measure",
    "measure",
    "metric_value",
    "qualifies",
    "sketch_sigma",
]
