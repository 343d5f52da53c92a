"""Period-over-period change through the real statistics on simulated windows."""

from __future__ import annotations

import numpy as np

from keyart.insights.change import period_change
from keyart.insights.measures import InsightMetric
from keyart.insights.significance import ALPHA
from tests.insights.simulate import Simulator
from tests.insights.test_peers import _limit, _share

WINDOWS = 2000


def test_no_change_is_significant_at_most_at_the_level_per_metric() -> None:
    sim = Simulator(np.random.default_rng(14))
    hits: dict[InsightMetric, list[bool]] = {m: [] for m in InsightMetric}
    for _ in range(WINDOWS):
        rate, audience = float(sim.rng.uniform(0.03, 0.3)), float(sim.rng.uniform(500, 8000))
        now = sim.asset(int(sim.rng.poisson(audience)), rate, 0.6)
        before = sim.asset(int(sim.rng.poisson(audience)), rate, 0.6)
        for change in period_change(now, before):
            hits[change.metric].append(change.significant)
    for metric, flags in hits.items():
        assert _share(flags) <= _limit(ALPHA, WINDOWS), metric


def test_a_real_change_is_significant_with_its_difference_bounded() -> None:
    sim = Simulator(np.random.default_rng(15))
    found = 0
    for _ in range(200):
        now, before = sim.asset(6000, 0.15, 0.6), sim.asset(6000, 0.10, 0.6)
        take = period_change(now, before)[0]
        assert take.metric is InsightMetric.TAKE_RATE
        assert take.difference is not None and take.current is not None
        assert take.previous is not None and take.ratio is not None
        assert take.difference.value == take.current - take.previous
        assert take.difference.lower < take.difference.value < take.difference.upper
        found += take.significant and take.ratio > 1
    assert found >= 0.9 * 200


def test_undefined_metrics_have_no_difference() -> None:
    sim = Simulator(np.random.default_rng(16))
    changes = period_change(sim.asset(5000, 0.1, 0.6), sim.asset(0, 0.1, 0.6))
    take = changes[0]
    assert take.previous is None and take.difference is None and not take.significant
    volume = changes[2]
    assert volume.metric is InsightMetric.UNIQUE_IMPRESSIONS
    assert volume.significant and volume.difference is not None  # 5000 against nothing
