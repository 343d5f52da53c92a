"""What backends return: exact counts and distinct-count estimates with ~95% bounds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from keyart.query.ir import Dimension


@dataclass(frozen=True, slots=True)
class Estimate:
    """A distinct-count estimate with lower and upper bounds (2 standard deviations)."""

    value: float
    lower: float
    upper: float


ZERO = Estimate(0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class MetricValues:
    """The metrics of one group; counts are exact, unique_* are sketch estimates."""

    impressions: int = 0
    unique_impressions: Estimate = ZERO
    qualified_plays: int = 0
    unique_players: Estimate = ZERO
    play_seconds: int = 0
    engaged_plays: int = 0

    @property
    def take_rate(self) -> Estimate | None:
        """uniquePlayers / uniqueImpressions, with bounds from the bounds of both; None
        when there are no impressions."""
        imp, ply = self.unique_impressions, self.unique_players
        if imp.value <= 0:
            return None
        lower = ply.lower / imp.upper if imp.upper > 0 else 0.0
        upper = ply.upper / imp.lower if imp.lower > 0 else float(ply.upper > 0)
        return Estimate(ply.value / imp.value, min(lower, 1.0), min(upper, 1.0))

    @property
    def authenticity(self) -> float | None:
        """engagedPlays / qualifiedPlays; None when there are no qualified plays."""
        if self.qualified_plays == 0:
            return None
        return self.engaged_plays / self.qualified_plays


@dataclass(frozen=True, slots=True)
class ResultRow:
    """One group of a result: its time bucket (None for ALL), dimension values, metrics."""

    bucket: date | None
    dims: tuple[tuple[Dimension, str], ...]
    metrics: MetricValues

    def get(self, dim: Dimension) -> str:
        """The value of one group-by dimension of this row."""
        for d, value in self.dims:
            if d is dim:
                return value
        raise KeyError(dim)


@dataclass(frozen=True, slots=True)
class QueryResult:
    """All groups a backend found; groups without data are absent."""

    rows: tuple[ResultRow, ...]

    def at_least(self, min_impressions: int) -> QueryResult:
        """The groups with at least `min_impressions` impressions (all of them for 0)."""
        if min_impressions <= 0:
            return self
        return QueryResult(tuple(r for r in self.rows if r.metrics.impressions >= min_impressions))
