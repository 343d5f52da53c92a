"""The query IR: what to count, over which days, for which slice, grouped how.

Nothing above this layer knows SQL or Druid JSON; each backend compiles a `MetricQuery`.
Values are normalised on construction (sorted, de-duplicated tuples) so that two equal
questions are equal objects with equal cache keys.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from keyart.errors import BadUserInput


class Granularity(StrEnum):
    """Time bucketing of a query; ALL is one bucket for the whole interval."""

    ALL = "all"
    DAY = "day"
    WEEK = "week"  # ISO weeks, starting Monday
    MONTH = "month"


class Dimension(StrEnum):
    """A column a query can group by; values are the rollup column names."""

    TITLE = "title_id"
    ASSET = "asset_id"
    ASSET_TYPE = "asset_type"
    COUNTRY = "country"
    AFFINITY = "affinity"  # multi-value: one group per label a row carries


class Metric(StrEnum):
    """An additive count or a sketch-backed distinct count (DESIGN §2)."""

    IMPRESSIONS = "impressions"
    UNIQUE_IMPRESSIONS = "unique_impressions"
    QUALIFIED_PLAYS = "qualified_plays"
    UNIQUE_PLAYERS = "unique_players"
    PLAY_SECONDS = "play_seconds"
    ENGAGED_PLAYS = "engaged_plays"

    @property
    def is_sketch(self) -> bool:
        """Whether the metric is a distinct count estimated from HLL sketches."""
        return self in (Metric.UNIQUE_IMPRESSIONS, Metric.UNIQUE_PLAYERS)


ALL_METRICS: tuple[Metric, ...] = tuple(Metric)


@dataclass(frozen=True, slots=True)
class Interval:
    """An inclusive range of UTC days."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise BadUserInput(
                f"window end {self.end.isoformat()} is before its start {self.start.isoformat()}"
            )

    @property
    def days(self) -> int:
        """Number of days in the interval, both ends included."""
        return (self.end - self.start).days + 1

    @property
    def end_exclusive(self) -> date:
        """The day after `end`, for half-open comparisons."""
        return self.end + timedelta(days=1)


def _norm(values: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(sorted(set(values)))


@dataclass(frozen=True, slots=True)
class Filter:
    """A conjunction of any-of constraints; None means unconstrained, () matches nothing.

    `affinities` has multi-value semantics: a row matches when any of its labels is listed.
    """

    title_ids: tuple[str, ...] | None = None
    asset_ids: tuple[str, ...] | None = None
    asset_types: tuple[str, ...] | None = None
    countries: tuple[str, ...] | None = None
    affinities: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("title_ids", "asset_ids", "asset_types", "countries", "affinities"):
            object.__setattr__(self, name, _norm(getattr(self, name)))

    def constraints(self) -> dict[Dimension, tuple[str, ...]]:
        """The set constraints keyed by the dimension they restrict."""
        pairs = {
            Dimension.TITLE: self.title_ids,
            Dimension.ASSET: self.asset_ids,
            Dimension.ASSET_TYPE: self.asset_types,
            Dimension.COUNTRY: self.countries,
            Dimension.AFFINITY: self.affinities,
        }
        return {dim: values for dim, values in pairs.items() if values is not None}

    def replace_assets(self, asset_ids: Iterable[str]) -> Filter:
        """The same filter restricted to the given assets (used by loaders to batch keys)."""
        return Filter(
            self.title_ids, tuple(asset_ids), self.asset_types, self.countries, self.affinities
        )

    def replace_titles(self, title_ids: Iterable[str]) -> Filter:
        """The same filter restricted to the given titles (used by loaders to batch keys)."""
        return Filter(
            tuple(title_ids), self.asset_ids, self.asset_types, self.countries, self.affinities
        )


@dataclass(frozen=True, slots=True)
class MetricQuery:
    """One question for a backend; the unit of batching, caching and compilation."""

    interval: Interval
    granularity: Granularity = Granularity.ALL
    filter: Filter = field(default_factory=Filter)
    group_by: tuple[Dimension, ...] = ()
    metrics: tuple[Metric, ...] = ALL_METRICS

    def __post_init__(self) -> None:
        if len(set(self.group_by)) != len(self.group_by):
            raise BadUserInput(f"group_by repeats a dimension: {list(self.group_by)}")
        object.__setattr__(self, "metrics", tuple(m for m in Metric if m in set(self.metrics)))
        if not self.metrics:
            raise BadUserInput("a query needs at least one metric")

    def cache_key(self) -> str:
        """A canonical, stable text form of the query (for result caches)."""
        return json.dumps(
            {
                "i": [self.interval.start.isoformat(), self.interval.end.isoformat()],
                "g": self.granularity.value,
                "f": {d.value: list(v) for d, v in self.filter.constraints().items()},
                "b": [d.value for d in self.group_by],
                "m": [m.value for m in self.metrics],
            },
            sort_keys=True,
            separators=(",", ":"),
        )
