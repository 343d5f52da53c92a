"""Comparisons of API answers with exact truth: counts equal, distinct counts in bounds."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from tests.truth import Exact


@dataclass
class BoundsTally:
    """Counts how many distinct-count estimates held the exact value within their bounds
    (DESIGN §2: at least 95% of groups must)."""

    checked: int = 0
    missed: list[str] = field(default_factory=list)

    def estimate(self, what: str, got: dict[str, float], exact: int) -> None:
        self.checked += 1
        assert got["lower"] <= got["value"] <= got["upper"], (what, got)
        if exact == 0:
            assert got == {"value": 0.0, "lower": 0.0, "upper": 0.0}, (what, got)
        elif not got["lower"] <= exact <= got["upper"]:
            self.missed.append(f"{what}: exact {exact} outside {got}")

    def assert_ok(self) -> None:
        assert self.checked > 0
        assert len(self.missed) <= 0.05 * self.checked, self.missed


def assert_metrics(what: str, got: dict[str, Any], exact: Exact, tally: BoundsTally) -> None:
    """Exact counts must match; estimates must hold the exact distinct counts (tallied)."""
    assert got["impressions"] == exact.impressions, (what, "impressions")
    assert got["qualifiedPlays"] == exact.qualified_plays, (what, "qualifiedPlays")
    assert got["playSeconds"] == exact.play_seconds, (what, "playSeconds")
    assert got["engagedPlays"] == exact.engaged_plays, (what, "engagedPlays")
    if exact.authenticity is None:
        assert got["authenticity"] is None, what
    else:
        assert math.isclose(got["authenticity"], exact.authenticity, rel_tol=1e-9), what
    tally.estimate(f"{what} uniqueImpressions", got["uniqueImpressions"], exact.unique_impressions)
    tally.estimate(f"{what} uniquePlayers", got["uniquePlayers"], exact.unique_players)
    rate = got["takeRate"]
    if exact.unique_impressions == 0:
        assert rate is None, what
    else:
        assert rate is not None, what
        imp, ply = got["uniqueImpressions"], got["uniquePlayers"]
        assert math.isclose(rate["value"], ply["value"] / imp["value"], rel_tol=1e-9), what
        assert rate["lower"] <= rate["value"] <= rate["upper"], (what, rate)
        assert exact.take_rate is not None
        if not rate["lower"] - 1e-12 <= exact.take_rate <= rate["upper"] + 1e-12:
            tally.missed.append(f"{what} takeRate: exact {exact.take_rate} outside {rate}")
        tally.checked += 1
