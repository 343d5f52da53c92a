"""Simulated metric values for testing the insights' statistics: binomial sampling of
members, plus an HLL-like estimate error on the distinct counts, reported as ~2σ bounds
the way every sketch Estimate is."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from keyart.query.results import Estimate, MetricValues

# relative standard error of an HLL_4 sketch of lgK 10 (1.04 / sqrt(2^10)): large enough
# that the sketch's error matters next to binomial sampling
RSE = 1.04 / 32


@dataclass
class Simulator:
    """Draws metric values of assets with a given true take rate and authenticity."""

    rng: np.random.Generator
    rse: float = RSE
    report_sketch_error: bool = True  # False: bounds claim exactness (a broken variance)

    def estimate(self, true: int) -> Estimate:
        """An estimate of `true` distinct members with the sketch's error and bounds."""
        if true == 0:
            return Estimate(0.0, 0.0, 0.0)
        sigma = self.rse * true
        value = max(1.0, true + self.rng.normal(0.0, sigma))
        width = 2 * self.rse * value if self.report_sketch_error else 0.0
        return Estimate(value, max(0.0, value - width), value + width)

    def asset(self, impressed: int, take_rate: float, authenticity: float) -> MetricValues:
        """One asset's metrics: players ~ Binomial(impressed, take_rate); engaged plays ~
        Binomial(qualified plays, authenticity)."""
        players = int(self.rng.binomial(impressed, take_rate))
        qualified = int(self.rng.binomial(2 * players, 0.7))
        engaged = int(self.rng.binomial(qualified, authenticity))
        return MetricValues(
            impressions=int(impressed * 1.6),
            unique_impressions=self.estimate(impressed),
            qualified_plays=qualified,
            unique_players=self.estimate(players),
            play_seconds=qualified * 900,
            engaged_plays=engaged,
        )

    def impressed(self, median: float = 2000.0) -> int:
        """A heavy-tailed audience size."""
        return max(1, int(self.rng.lognormal(np.log(median), 0.8)))
