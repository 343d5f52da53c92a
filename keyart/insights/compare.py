"""Assets side by side: each entry's take rate against a baseline's, with an interval that
includes binomial sampling and sketch error, the probability it is better, significance."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

from keyart.insights.measures import InsightMetric, measure, qualifies
from keyart.insights.significance import ALPHA, adjust, two_sided_p
from keyart.query.results import Estimate, MetricValues

_SIGMAS = 2.0  # bounds of a lift, like every Estimate's


@dataclass(frozen=True, slots=True)
class Comparison:
    """One entry against the baseline."""

    lift: Estimate | None  # entry take rate / baseline take rate, ~2σ bounds
    probability_better: float  # P(entry's true take rate > baseline's)
    p_value: float  # two-sided, Benjamini–Hochberg adjusted over the entries
    significant: bool


SAME = Comparison(Estimate(1.0, 1.0, 1.0), 0.5, 1.0, False)


def compare(entries: Sequence[MetricValues], baseline: int) -> list[Comparison]:
    """Every entry against `entries[baseline]` (which compares as SAME with itself)."""
    metric = InsightMetric.TAKE_RATE
    base = measure(metric, entries[baseline])
    base_ok = base is not None and qualifies(metric, entries[baseline])
    partial: list[tuple[int, Estimate | None, float, float, bool]] = []
    for i, values in enumerate(entries):
        if i == baseline:
            continue
        own = measure(metric, values)
        if own is None or base is None:
            partial.append((i, None, 0.5, 1.0, False))
            continue
        difference = own.value - base.value
        variance = own.variance + base.variance
        better = 0.5 if variance <= 0 else float(stats.norm.cdf(difference / math.sqrt(variance)))
        lift = None
        if base.value > 0 and own.value > 0:
            center = math.log(own.value / base.value)
            spread = _SIGMAS * math.sqrt(
                own.variance / own.value**2 + base.variance / base.value**2
            )
            lift = Estimate(math.exp(center), math.exp(center - spread), math.exp(center + spread))
        testable = base_ok and qualifies(metric, values)
        partial.append((i, lift, better, two_sided_p(difference, variance), testable))
    # only testable entries count as tests for the correction
    tested = [k for k, entry in enumerate(partial) if entry[4]]
    adjusted = dict(zip(tested, adjust([partial[k][3] for k in tested]), strict=True))
    out: list[Comparison] = [SAME] * len(entries)
    for k, (i, lift, better, _, testable) in enumerate(partial):
        p = adjusted.get(k, 1.0)
        out[i] = Comparison(lift, better, p, testable and p <= ALPHA)
    return out


__all__ = ["SAME", "Comparison", "compare"]
