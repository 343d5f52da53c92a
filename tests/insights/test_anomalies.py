"""Anomalies through the real statistics on simulated daily series."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from keyart.insights.anomalies import find_anomalies
from keyart.insights.measures import InsightMetric
from keyart.insights.significance import ALPHA
from keyart.query.results import MetricValues
from tests.insights.simulate import Simulator
from tests.insights.test_peers import _limit, _share

START = date(2026, 1, 5)  # a Monday
DAYS = 90
SERIES = 400
WEEKDAY_VOLUME = (0.9, 0.9, 0.9, 1.0, 1.1, 1.2, 1.1)


def series(
    sim: Simulator,
    rate: float,
    audience: float,
    *,
    weekend_rate: float = 1.0,
    spike: tuple[int, float] | None = None,
) -> list[tuple[date, MetricValues]]:
    """A daily series: volumes follow the weekday, the take rate is steady (times
    `weekend_rate` on Saturdays and Sundays, times spike[1] on day spike[0])."""
    out = []
    for i in range(DAYS):
        day = START + timedelta(days=i)
        factor = weekend_rate if day.weekday() >= 5 else 1.0
        if spike is not None and i == spike[0]:
            factor *= spike[1]
        size = int(sim.rng.poisson(audience * WEEKDAY_VOLUME[day.weekday()]))
        out.append((day, sim.asset(size, min(rate * factor, 0.99), 0.6)))
    return out


def test_a_steady_series_has_anomalies_at_most_at_the_level() -> None:
    sim = Simulator(np.random.default_rng(17))
    flagged = []
    for _ in range(SERIES):
        points = series(sim, float(sim.rng.uniform(0.05, 0.3)), float(sim.rng.uniform(300, 3000)))
        flagged.append(bool(find_anomalies(points, InsightMetric.TAKE_RATE, weekly=True)))
    assert _share(flagged) <= _limit(ALPHA, SERIES)


def test_a_weekly_pattern_is_the_baseline_not_an_anomaly() -> None:
    sim = Simulator(np.random.default_rng(18))
    flagged = []
    for _ in range(100):
        points = series(sim, 0.1, 3000, weekend_rate=1.4)
        flagged.append(bool(find_anomalies(points, InsightMetric.TAKE_RATE, weekly=True)))
    assert _share(flagged) <= _limit(ALPHA, 100)
    # the control: without the weekday profile, weekends stand out
    unseasonal = [
        bool(
            find_anomalies(
                series(sim, 0.1, 3000, weekend_rate=1.4), InsightMetric.TAKE_RATE, weekly=False
            )
        )
        for _ in range(20)
    ]
    assert _share(unseasonal) > 0.5


def test_a_planted_spike_is_found_on_its_day() -> None:
    sim = Simulator(np.random.default_rng(19))
    hits = 0
    for k in range(100):
        day = 10 + k % 70
        points = series(sim, 0.1, 3000, spike=(day, 1.6 if k % 2 else 0.5))
        found = find_anomalies(points, InsightMetric.TAKE_RATE, weekly=True)
        hits += [a.day for a in found] == [START + timedelta(days=day)]
        for a in found:
            assert (a.direction.value == "high") == (a.value > a.expected)
    assert hits >= 90


def test_a_spike_on_a_small_day_is_not_significant() -> None:
    sim = Simulator(np.random.default_rng(20))
    points = series(sim, 0.1, 3000)
    small = sim.asset(60, 0.5, 0.6)  # below the minimum of impressed members
    points[40] = (points[40][0], small)
    assert all(
        a.day != points[40][0] for a in find_anomalies(points, InsightMetric.TAKE_RATE, True)
    )
    assert find_anomalies(points[:5], InsightMetric.TAKE_RATE, True) == []  # too short
