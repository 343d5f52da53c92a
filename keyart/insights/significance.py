"""Significance helpers shared by the insights: two-sided normal p-values and the
Benjamini–Hochberg correction for the several tests made within one answer."""

from __future__ import annotations

import math
from collections.abc import Sequence

from scipy import stats

# The level at which every insight calls a difference significant (after correction).
ALPHA = 0.05
# How far a robust score must reach for a value to stand out (Iglewicz & Hoaglin's 3.5).
OUTLIER_SCORE = 3.5
# The MAD of a normal sample times this estimates its standard deviation.
MAD_TO_SIGMA = 1.4826


def two_sided_p(difference: float, variance: float) -> float:
    """The two-sided p-value of a normally distributed difference with this variance."""
    if variance <= 0:
        return 0.0 if difference else 1.0
    # 2·(1 − Φ(|z|)) = erfc(|z|/√2): scipy.stats.norm.sf's value at a hundredth of its cost
    return math.erfc(abs(difference) / math.sqrt(2.0 * variance))


def adjust(p_values: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values (false discovery rate at the same level)."""
    if not p_values:
        return []
    return [float(p) for p in stats.false_discovery_control(list(p_values), method="bh")]


def median_variance(variances: Sequence[float]) -> float:
    """The sampling variance of the median of values with these variances (the median of
    normal values is π/2 times as variable as their mean)."""
    k = len(variances)
    return math.pi / 2 * (sum(variances) / k) / k if k else 0.0


__all__ = ["ALPHA", "MAD_TO_SIGMA", "OUTLIER_SCORE", "adjust", "median_variance", "two_sided_p"]
