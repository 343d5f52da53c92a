"""The tolerance rule on real sketches: exact counts must be equal, an exact distinct count
must lie inside an estimate's bounds, two estimates within the combined bound."""

from __future__ import annotations

import math
import random
from datetime import date

import pytest

from keyart.query import (
    Dimension,
    Estimate,
    Interval,
    Metric,
    MetricQuery,
    MetricValues,
    QueryResult,
    ResultRow,
)
from keyart.rollout.compare import (
    collision_allowance,
    compare_counts,
    compare_estimates,
    compare_results,
    disagreements,
)
from keyart.sketches import build, estimate_blobs

U = Metric.UNIQUE_PLAYERS


def exact(n: int) -> Estimate:
    return Estimate(float(n), float(n), float(n))


def sketched(members: list[int], lg_k: int = 8) -> Estimate:
    return estimate_blobs([build(members, lg_k)], lg_k)


def test_exact_counts_must_be_equal() -> None:
    assert compare_counts(Metric.IMPRESSIONS, 10, 10).within
    off = compare_counts(Metric.IMPRESSIONS, 10, 13)
    assert not off.within and off.excess == 3 and off.tolerance == 0


def test_exact_distinct_counts_inside_real_sketch_bounds() -> None:
    rng = random.Random(3)
    inside = 0
    trials = 60
    for _ in range(trials):
        members = rng.sample(range(10**9), rng.randint(2000, 20000))
        est = sketched(members)
        verdict = compare_estimates(U, exact(len(members)), est)
        assert verdict.within == (est.lower <= len(members) <= est.upper)
        inside += verdict.within
    # 2σ bounds: about 95% of exact counts fall inside
    assert inside >= trials * 0.85
    # a count far outside the bounds is flagged, by how far it is outside
    members = list(range(5000))
    est = sketched(members)
    far = compare_estimates(U, exact(int(est.upper) + 500), est)
    assert not far.within
    allowed = est.upper + collision_allowance(est.value)
    assert far.excess == pytest.approx(int(est.upper) + 500 - allowed, abs=1e-3)
    assert far.tolerance == pytest.approx(est.upper - est.value + collision_allowance(est.value))


def test_a_member_lost_to_a_coupon_collision_is_within_tolerance() -> None:
    # seed 17's 1,500 members hold two whose 26-bit coupons collide: the small sketch
    # counts 1,499 with bounds of a fraction of a member, the exact count is 1,500
    members = random.Random(17).sample(range(10**12), 1500)
    est = estimate_blobs([build(members, 14)], 14)
    assert round(est.value) == 1499 and est.upper < 1500
    assert compare_estimates(U, exact(1500), est).within
    # the allowance is a member or a few where coupon mode exists, none beyond it
    assert [collision_allowance(n) for n in (10, 1000, 10_000, 10**6)] == [1, 3, 10, 0]
    assert not compare_estimates(U, exact(1499 + collision_allowance(1499) + 1), est).within
    assert not compare_estimates(U, exact(1498), est).within


def test_two_estimates_within_the_combined_bound() -> None:
    a = Estimate(1000.0, 950.0, 1050.0)  # h = 50
    b = Estimate(1060.0, 1000.0, 1120.0)  # h = 60
    verdict = compare_estimates(U, a, b)
    collisions = collision_allowance(1060.0)  # 3 members
    assert verdict.tolerance == pytest.approx(math.sqrt(50**2 + 60**2) + collisions)
    assert verdict.within  # 60 <= 81.1
    c = Estimate(1100.0, 1040.0, 1160.0)
    assert not compare_estimates(U, a, c).within  # 100 > 81.1
    assert compare_estimates(U, a, c, slack=1.5).within  # 100 <= 120.2
    # two sketches of the same members, built apart, agree
    members = list(range(30000))
    assert compare_estimates(U, sketched(members), sketched(list(reversed(members)))).within


def test_results_compare_group_by_group_and_missing_groups_are_zero() -> None:
    q = MetricQuery(
        Interval(date(2024, 1, 1), date(2024, 1, 2)),
        group_by=(Dimension.ASSET,),
        metrics=(Metric.IMPRESSIONS, U),
    )

    def row(asset: str, imps: int, players: int) -> ResultRow:
        return ResultRow(
            None,
            ((Dimension.ASSET, asset),),
            MetricValues(impressions=imps, unique_players=exact(players)),
        )

    a = QueryResult((row("a1", 5, 2), row("a2", 3, 1)))
    b = QueryResult((row("a1", 5, 2),))
    groups = compare_results(q, a, b)
    assert [g.label for g in groups] == ["asset_id=a1", "asset_id=a2"]
    bad = disagreements(groups)
    assert [(g.label, v.metric, v.a, v.b) for g, v in bad] == [
        ("asset_id=a2", Metric.IMPRESSIONS, 3.0, 0.0),
        ("asset_id=a2", U, 1.0, 0.0),
    ]
    assert disagreements(compare_results(q, a, a)) == []
