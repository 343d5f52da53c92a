"""The one rule deciding whether two stacks agree on a metric (docs/rollout.md).

Exact counts must be equal. A distinct count is an estimate with ~95% (2σ) bounds; an exact
backend reports bounds equal to its value. Then:

- exact vs exact: equal;
- exact vs estimate: the exact value lies inside the estimate's [lower, upper];
- estimate vs estimate: |a − b| ≤ sqrt(ha² + hb²) + max(ka, kb), h = (upper − lower) / 2
  of each side — the 2σ bound of the difference of two independent estimates — and k the
  collision allowance below.

A small sketch (DataSketches' list/set mode) keeps one 26-bit coupon per member and
reports bounds of a fraction of one member, but two members whose coupons collide count
once: an exact count can sit one member above such bounds. So an estimate's upper bound
is raised by its collision allowance k: the smallest k with P(Poisson(E) > k) < 1e-9,
E = n² / 2²⁷ the expected collisions among n members (1 member up to n = 30, 3 at 1,000,
10 at 10,000; 0 beyond the largest coupon-mode sketch, where the HLL bounds hold).

`slack` widens every sketch bound by a factor (1.0 = the bounds as reported); exact counts
never get slack.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from keyart.query import Dimension, Estimate, Metric, MetricQuery, MetricValues, QueryResult
from keyart.sketches.params import MAX_LG_K
from keyart.sketches.wire import capacity

# two floats this close are one value (sums of doubles in different orders)
_EPSILON = 1e-6
COUPON_BITS = 26
# the largest sketch still in coupon mode at any lg_k (3/4 of 2^(MAX_LG_K - 3) coupons)
COUPON_MODE_MAX = capacity(MAX_LG_K)
FALSE_ALARM = 1e-9


@dataclass(frozen=True, slots=True)
class Verdict:
    """How one metric of one group compares: both values, the allowed difference, and by how
    much the difference exceeds it (0 when within)."""

    metric: Metric
    a: float
    b: float
    tolerance: float
    excess: float

    @property
    def within(self) -> bool:
        """Whether the two values agree under the tolerance rule."""
        return self.excess <= 0

    @property
    def difference(self) -> float:
        """b − a."""
        return self.b - self.a


@dataclass(frozen=True, slots=True)
class GroupVerdict:
    """The verdicts of one group (time bucket and dimension values) of a result."""

    bucket: date | None
    dims: tuple[tuple[Dimension, str], ...]
    verdicts: tuple[Verdict, ...]

    @property
    def label(self) -> str:
        """The group as text, e.g. `2024-03-02 asset_id=a1 country=US`."""
        parts = [] if self.bucket is None else [self.bucket.isoformat()]
        parts += [f"{d.value}={v}" for d, v in self.dims]
        return " ".join(parts) or "total"


def collision_allowance(n: float) -> int:
    """Members a coupon-mode sketch of about `n` members may have lost to coupon
    collisions: the smallest k with P(Poisson(E) > k) < FALSE_ALARM, E = n² / 2^27."""
    if n <= 1 or n > COUPON_MODE_MAX:
        return 0
    expected = n * n / 2 ** (COUPON_BITS + 1)
    term = math.exp(-expected)
    below = term  # P(X <= k)
    k = 0
    while 1.0 - below >= FALSE_ALARM:
        k += 1
        term *= expected / k
        below += term
    return k


def _is_exact(e: Estimate) -> bool:
    return e.upper - e.lower <= _EPSILON


def compare_estimates(metric: Metric, a: Estimate, b: Estimate, slack: float = 1.0) -> Verdict:
    """Two distinct counts under the rule of this module."""
    if _is_exact(a) and _is_exact(b):
        return Verdict(metric, a.value, b.value, 0.0, max(0.0, abs(a.value - b.value) - _EPSILON))
    if _is_exact(a) or _is_exact(b):
        exact, est = (a, b) if _is_exact(a) else (b, a)
        lower = est.value - (est.value - est.lower) * slack
        upper = est.value + (est.upper - est.value) * slack + collision_allowance(est.value)
        outside = max(lower - exact.value, exact.value - upper, 0.0)
        tolerance = (upper if exact.value >= est.value else lower) - est.value
        return Verdict(metric, a.value, b.value, abs(tolerance), max(0.0, outside - _EPSILON))
    ha = (a.upper - a.lower) / 2 * slack
    hb = (b.upper - b.lower) / 2 * slack
    collisions = max(collision_allowance(a.value), collision_allowance(b.value))
    tolerance = math.sqrt(ha * ha + hb * hb) + collisions
    excess = abs(a.value - b.value) - tolerance - _EPSILON
    return Verdict(metric, a.value, b.value, tolerance, max(0.0, excess))


def compare_counts(metric: Metric, a: int, b: int) -> Verdict:
    """Two exact counts: equal or not."""
    return Verdict(metric, float(a), float(b), 0.0, float(abs(a - b)))


def compare_values(
    a: MetricValues, b: MetricValues, metrics: Iterable[Metric], slack: float = 1.0
) -> tuple[Verdict, ...]:
    """The verdict of each asked metric of two groups."""
    out = []
    for metric in metrics:
        va, vb = getattr(a, metric.value), getattr(b, metric.value)
        if metric.is_sketch:
            out.append(compare_estimates(metric, va, vb, slack))
        else:
            out.append(compare_counts(metric, va, vb))
    return tuple(out)


def compare_results(
    query: MetricQuery, a: QueryResult, b: QueryResult, slack: float = 1.0
) -> list[GroupVerdict]:
    """Every group either side found, compared metric by metric; a group one side lacks
    counts as all zeros there (backends leave groups without data out)."""
    rows_a = {(r.bucket, r.dims): r.metrics for r in a.rows}
    rows_b = {(r.bucket, r.dims): r.metrics for r in b.rows}
    keys = sorted(
        set(rows_a) | set(rows_b),
        key=lambda k: ("" if k[0] is None else k[0].isoformat(), k[1]),
    )
    empty = MetricValues()
    return [
        GroupVerdict(
            bucket,
            dims,
            compare_values(
                rows_a.get((bucket, dims), empty),
                rows_b.get((bucket, dims), empty),
                query.metrics,
                slack,
            ),
        )
        for bucket, dims in keys
    ]


def disagreements(groups: Iterable[GroupVerdict]) -> list[tuple[GroupVerdict, Verdict]]:
    """The (group, verdict) pairs outside tolerance."""
    return [(g, v) for g in groups for v in g.verdicts if not v.within]


__all__ = [
    "GroupVerdict",
    "Verdict",
    "collision_allowance",
    "compare_counts",
    "compare_estimates",
    "compare_results",
    "compare_values",
    "disagreements",
]
