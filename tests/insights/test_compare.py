"""Comparisons through the real statistics on simulated assets."""

from __future__ import annotations

import numpy as np
import pytest

from keyart.insights.compare import compare
from keyart.insights.significance import ALPHA
from tests.insights.simulate import Simulator
from tests.insights.test_peers import _limit, _share

PAIRS = 2000


def test_the_same_rate_is_significant_at_most_at_the_level() -> None:
    sim = Simulator(np.random.default_rng(9))
    significant, better = [], []
    for _ in range(PAIRS):
        rate = float(sim.rng.uniform(0.03, 0.3))
        base, other = sim.asset(sim.impressed(), rate, 0.6), sim.asset(sim.impressed(), rate, 0.6)
        found = compare([base, other], 0)[1]
        significant.append(found.significant)
        better.append(found.probability_better)
    assert _share(significant) <= _limit(ALPHA, PAIRS)
    # with no difference, "better" is a coin flip on average, and not always near 0.5
    assert np.mean(better) == pytest.approx(0.5, abs=0.03)
    assert np.mean(np.asarray(better) > 0.9) > 0.05


def test_a_real_difference_is_found_with_its_lift_inside_the_bounds() -> None:
    sim = Simulator(np.random.default_rng(10))
    hits = 0
    for _ in range(200):
        base, better = sim.asset(5000, 0.10, 0.6), sim.asset(5000, 0.15, 0.6)
        same, found = compare([base, better], 0)
        assert same.lift is not None and same.lift.value == 1.0 and not same.significant
        assert found.lift is not None and found.lift.lower < found.lift.value < found.lift.upper
        hits += found.significant and found.probability_better > 0.99
        true_lift = 1.5
        assert found.lift.lower < true_lift * 1.5
    assert hits >= 0.9 * 200


def test_a_small_sample_is_never_significant() -> None:
    sim = Simulator(np.random.default_rng(12))
    for _ in range(200):
        base, small = sim.asset(5000, 0.10, 0.6), sim.asset(60, 0.6, 0.6)
        found = compare([base, small], 0)[1]
        assert not found.significant
        assert found.probability_better > 0.5  # still the direction the data shows


def test_the_baseline_can_be_any_entry_and_no_data_gives_no_lift() -> None:
    sim = Simulator(np.random.default_rng(13))
    empty = sim.asset(0, 0.1, 0.6)
    a, b = sim.asset(5000, 0.1, 0.6), sim.asset(5000, 0.2, 0.6)
    first, second, third = compare([a, b, empty], 1)
    assert second.lift is not None and second.lift.value == 1.0
    assert first.lift is not None and first.lift.value < 1 and first.probability_better < 0.01
    assert third.lift is None and not third.significant
