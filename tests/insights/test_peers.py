"""Outliers among peers, through the real statistics on simulated titles: planted effects
are found, and on titles without one the flagged share stays at the documented rate."""

from __future__ import annotations

import math

import numpy as np
import pytest

from keyart.insights.measures import InsightMetric
from keyart.insights.peers import MIN_SPREAD, Peer, outliers, peer_tests
from keyart.insights.significance import ALPHA, OUTLIER_SCORE
from tests.insights.simulate import Simulator

TITLES = 1000
TYPES = ("artwork",) * 5 + ("video",) * 3


def null_title(
    sim: Simulator, take: float, auth: float, audience: float | None = None
) -> list[Peer]:
    """Eight assets sharing one true take rate and authenticity (no effect anywhere); with
    `audience`, also one expected audience size (no effect on the volumes either)."""
    return [
        Peer(
            f"a{i}",
            kind,
            sim.asset(
                sim.impressed() if audience is None else int(sim.rng.poisson(audience)),
                take,
                auth,
            ),
        )
        for i, kind in enumerate(TYPES)
    ]


def _share(flags: list[bool]) -> float:
    return sum(flags) / len(flags)


def _limit(rate: float, n: int) -> float:
    """The documented rate plus three binomial standard errors of a share of n."""
    return rate + 3 * math.sqrt(rate * (1 - rate) / n)


def null_titles(sim: Simulator, same_audience: bool = False) -> list[list[Peer]]:
    """TITLES titles without any effect on the rates (nor, with `same_audience`, on the
    volumes: assets of very different reach do differ in volume, truly)."""
    rng = sim.rng
    return [
        null_title(
            sim,
            float(rng.uniform(0.03, 0.3)),
            float(rng.uniform(0.3, 0.8)),
            float(rng.uniform(300, 5000)) if same_audience else None,
        )
        for _ in range(TITLES)
    ]


@pytest.fixture(scope="module")
def nulls() -> list[list[Peer]]:
    return null_titles(Simulator(np.random.default_rng(1)))


@pytest.fixture(scope="module")
def volume_nulls() -> list[list[Peer]]:
    return null_titles(Simulator(np.random.default_rng(11)), same_audience=True)


@pytest.mark.parametrize("metric", list(InsightMetric))
def test_no_effect_flags_at_most_the_documented_share_of_titles(
    nulls: list[list[Peer]], volume_nulls: list[list[Peer]], metric: InsightMetric
) -> None:
    titles = nulls if metric.is_rate else volume_nulls
    flagged = [bool(outliers(title, metric)) for title in titles]
    assert _share(flagged) <= _limit(ALPHA, TITLES)


@pytest.mark.parametrize("metric", [InsightMetric.TAKE_RATE, InsightMetric.AUTHENTICITY])
def test_significance_alone_is_calibrated_with_sketch_error(
    nulls: list[list[Peer]], metric: InsightMetric
) -> None:
    # without the robust gate: a title has any Benjamini–Hochberg discovery about as often
    # as the level allows (the variance includes sampling and sketch error)
    significant = [
        any(t.significant for t in peer_tests(title, metric).values()) for title in nulls
    ]
    assert _share(significant) <= _limit(ALPHA, TITLES)


def test_ignoring_the_sketch_error_would_break_the_rate() -> None:
    # the control: the same values with bounds that hide the sketch error make the test
    # see "significant" differences that are only sketch noise
    sim = Simulator(np.random.default_rng(1), report_sketch_error=False)
    titles = null_titles(sim)
    significant = [
        any(t.significant for t in peer_tests(title, InsightMetric.TAKE_RATE).values())
        for title in titles
    ]
    assert _share(significant) > _limit(ALPHA, TITLES)


def test_planted_take_rates_are_found_most_extreme_first() -> None:
    sim = Simulator(np.random.default_rng(2))
    found = 0
    for _ in range(200):
        title = null_title(sim, 0.12, 0.6)
        title[1] = Peer("low", "artwork", sim.asset(3000, 0.12 / 10, 0.6))
        title[6] = Peer("high", "video", sim.asset(3000, min(0.12 * 8, 0.99), 0.6))
        flagged = outliers(title, InsightMetric.TAKE_RATE)
        ids = [t.asset_id for t in flagged]
        found += set(ids) == {"low", "high"}
        scores = [abs(t.score) for t in flagged]
        assert scores == sorted(scores, reverse=True)
        for t in flagged:
            assert abs(t.score) >= OUTLIER_SCORE and t.p_value <= ALPHA
            assert t.direction.value == ("low" if t.asset_id == "low" else "high")
            assert abs(t.log_ratio) >= OUTLIER_SCORE * MIN_SPREAD
    assert found >= 0.95 * 200


def test_an_asset_with_few_impressions_is_never_flagged() -> None:
    sim = Simulator(np.random.default_rng(3))
    for _ in range(200):
        title = null_title(sim, 0.12, 0.6)
        title[0] = Peer("small", "artwork", sim.asset(60, 0.001, 0.6))
        tests = peer_tests(title, InsightMetric.TAKE_RATE)
        assert "small" not in tests
        assert all(t.asset_id != "small" for t in outliers(title, InsightMetric.TAKE_RATE))


def test_peers_are_of_the_same_type_and_need_two_of_them() -> None:
    sim = Simulator(np.random.default_rng(4))
    title = [
        Peer("a1", "artwork", sim.asset(5000, 0.1, 0.6)),
        Peer("a2", "artwork", sim.asset(5000, 0.1, 0.6)),
        Peer("a3", "artwork", sim.asset(5000, 0.1, 0.6)),
        Peer("v1", "video", sim.asset(5000, 0.01, 0.6)),  # a single video has no peers
        Peer("v2", "video", sim.asset(50, 0.1, 0.6)),  # too small to be a peer
    ]
    tests = peer_tests(title, InsightMetric.TAKE_RATE)
    assert set(tests) == {"a1", "a2", "a3"}
    assert all(t.peers == 2 for t in tests.values())
    assert outliers(title, InsightMetric.TAKE_RATE) == []
