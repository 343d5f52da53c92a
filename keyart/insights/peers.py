"""Tests of each asset against its peers — the other assets of the same title and type under
the same window and filter — on one metric: a robust score and a sampling-aware p-value."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from keyart.insights.measures import InsightMetric, Measure, measure, qualifies
from keyart.insights.significance import (
    ALPHA,
    MAD_TO_SIGMA,
    OUTLIER_SCORE,
    adjust,
    median_variance,
    two_sided_p,
)
from keyart.query.results import MetricValues

# Fewest qualifying peers an asset is compared with.
MIN_PEERS = 2
# Floor of the robust spread on the log scale: creatives of one title differ by nature
# (a spread of ~0.45 in log take rate in the generated data), and the MAD of a handful of
# peers can be arbitrarily small by chance. With the 3.5 threshold an outlier is then at
# least e^(3.5·0.5) ≈ 5.8 times (or below 1/5.8 of) its peers' median.
MIN_SPREAD = 0.5


class Direction(StrEnum):
    """Whether a value stands out above or below what it is compared with."""

    HIGH = "high"
    LOW = "low"


@dataclass(frozen=True, slots=True)
class Peer:
    """One asset of a title: its id, type and metrics in the window and filter asked for."""

    asset_id: str
    asset_type: str
    values: MetricValues


@dataclass(frozen=True, slots=True)
class PeerTest:
    """One asset's metric against its peers'."""

    asset_id: str
    metric: InsightMetric
    value: float
    peer_median: float  # the median of the peers' values
    log_ratio: float  # ln(value / peers' median) on the smoothed log scale
    score: float  # log_ratio in robust spreads of the peers (modified z-score)
    p_value: float  # Benjamini–Hochberg adjusted over the title's tests of this metric
    peers: int

    @property
    def direction(self) -> Direction:
        """HIGH above the peers, LOW below."""
        return Direction.HIGH if self.log_ratio >= 0 else Direction.LOW

    @property
    def significant(self) -> bool:
        """Whether the departure is significant given the counts (sampling and sketch)."""
        return self.p_value <= ALPHA

    @property
    def outlier(self) -> bool:
        """Whether the asset stands out: far in robust spreads and significant."""
        return abs(self.score) >= OUTLIER_SCORE and self.significant


def peer_tests(assets: Sequence[Peer], metric: InsightMetric) -> dict[str, PeerTest]:
    """Each qualifying asset with at least MIN_PEERS qualifying peers, tested against them;
    p-values are corrected for all tests of the title (Benjamini–Hochberg)."""
    measured: dict[str, tuple[Peer, Measure]] = {}
    for peer in assets:
        found = measure(metric, peer.values) if qualifies(metric, peer.values) else None
        if found is not None:
            measured[peer.asset_id] = (peer, found)
    raw: list[tuple[str, float, float, float, float, int, float]] = []
    for asset_id, (peer, own) in measured.items():
        others = [
            m
            for other, m in measured.values()
            if other.asset_type == peer.asset_type and other.asset_id != asset_id
        ]
        if len(others) < MIN_PEERS:
            continue
        logs = [m.log_value for m in others]
        center = statistics.median(logs)
        mad = statistics.median([abs(v - center) for v in logs])
        spread = max(MAD_TO_SIGMA * mad, MIN_SPREAD)
        log_ratio = own.log_value - center
        variance = own.log_variance + median_variance([m.log_variance for m in others])
        raw.append(
            (
                asset_id,
                own.value,
                statistics.median([m.value for m in others]),
                log_ratio,
                log_ratio / spread,
                len(others),
                two_sided_p(log_ratio, variance),
            )
        )
    adjusted = adjust([r[6] for r in raw])
    return {
        asset_id: PeerTest(asset_id, metric, value, median, log_ratio, score, p, n)
        for (asset_id, value, median, log_ratio, score, n, _), p in zip(raw, adjusted, strict=True)
    }


def flagged(tests: dict[str, PeerTest]) -> list[PeerTest]:
    """The tests whose asset stands out, most extreme first."""
    return sorted(
        (t for t in tests.values() if t.outlier), key=lambda t: (-abs(t.score), t.asset_id)
    )


def outliers(assets: Sequence[Peer], metric: InsightMetric) -> list[PeerTest]:
    """The assets standing out among their peers, most extreme first."""
    return flagged(peer_tests(assets, metric))


def ratio(test: PeerTest) -> float | None:
    """The asset's value over its peers' median (None when that median is zero)."""
    return test.value / test.peer_median if test.peer_median > 0 else None


def describe(test: PeerTest) -> str:
    """A one-sentence reason for a flagged asset."""
    times = math.exp(abs(test.log_ratio))
    side = "above" if test.direction is Direction.HIGH else "below"
    return (
        f"{test.metric.value.replace('_', ' ')} {test.value:.4g} is {times:.1f}x {side} the "
        f"median {test.peer_median:.4g} of {test.peers} peers of the same type "
        f"(robust score {test.score:+.1f}, adjusted p = {test.p_value:.2g})"
    )


__all__ = [
    "MIN_PEERS",
    "MIN_SPREAD",
    "Direction",
    "Peer",
    "PeerTest",
    "describe",
    "flagged",
    "outliers",
    "peer_tests",
    "ratio",
]
