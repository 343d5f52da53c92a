"""The query IR: what to count, over which days, for which slice, grouped how.

Nothing above this layer knows SQL or Druid JSON; each backend compiles a `MetricQuery`.
Values are normalised on construction (sorted, de-duplicated tuples) so that two equal
questions are equal objects with equal cache keys.
"""

from __future__ import annotations

import dataclasses
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
    """A conjunction of constraints on events; None means unconstrained.

    The any-of lists (`title_ids`, `asset_ids`, `asset_types`, `countries`, `affinities`)
    keep an event whose value is listed; an empty one matches nothing. `affinities` has
    multi-value semantics: the event's member has any of the listed labels (and a
    grouping by affinity forms groups of those labels only). The rest are member- or
    country-level exclusions and conjunctions:

    - `exclude_countries`: the event's country is none of these;
    - `affinities_all`: the member has every one of these labels;
    - `exclude_affinities`: the member has none of these labels.

    A member with no profile has no labels: `exclude_affinities` keeps its events,
    `affinities_all` and `affinities` drop them. Empty exclusions and an empty
    `affinities_all` constrain nothing and are normalised to None; a country both listed
    and excluded is dropped from `countries`, and an affinity both listed and excluded
    from `affinities`, so that equal questions are equal objects.
    """

    title_ids: tuple[str, ...] | None = None
    asset_ids: tuple[str, ...] | None = None
    asset_types: tuple[str, ...] | None = None
    countries: tuple[str, ...] | None = None
    affinities: tuple[str, ...] | None = None
    exclude_countries: tuple[str, ...] | None = None
    affinities_all: tuple[str, ...] | None = None
    exclude_affinities: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("title_ids", "asset_ids", "asset_types", "countries", "affinities"):
            object.__setattr__(self, name, _norm(getattr(self, name)))
        for name in ("exclude_countries", "affinities_all", "exclude_affinities"):
            # excluding nothing, or requiring every label of the empty set, constrains nothing
            object.__setattr__(self, name, _norm(getattr(self, name)) or None)
        if self.countries is not None and self.exclude_countries is not None:
            # an any-of list minus the excluded countries says the same, in one constraint
            excluded = set(self.exclude_countries)
            object.__setattr__(
                self, "countries", tuple(c for c in self.countries if c not in excluded)
            )
            object.__setattr__(self, "exclude_countries", None)
        if self.affinities is not None and self.exclude_affinities is not None:
            # an excluded label can never be the one that makes the any-of match
            excluded = set(self.exclude_affinities)
            object.__setattr__(
                self, "affinities", tuple(a for a in self.affinities if a not in excluded)
            )

    @property
    def matches_nothing(self) -> bool:
        """Whether no event can match: an any-of list is empty, or a label is both
        required (`affinities_all`) and excluded."""
        if any(len(values) == 0 for values in self.constraints().values()):
            return True
        if self.affinities_all is not None and self.exclude_affinities is not None:
            return not set(self.affinities_all).isdisjoint(self.exclude_affinities)
        return False

    @property
    def member_level(self) -> bool:
        """Whether the filter constrains a member's whole label set beyond one label:
        all-of, none-of, or any-of over two or more labels (a single label is matched
        row by row in the exploded affinity rollup)."""
        return self.single_label is None and (
            self.affinities is not None
            or self.affinities_all is not None
            or self.exclude_affinities is not None
        )

    @property
    def single_label(self) -> str | None:
        """The label L when the affinity constraints say exactly "the member has L"."""
        any_of, all_of = self.affinities, self.affinities_all
        if self.exclude_affinities is not None:
            return None
        if any_of is not None and len(any_of) == 1 and (all_of is None or all_of == any_of):
            return any_of[0]
        if any_of is None and all_of is not None and len(all_of) == 1:
            return all_of[0]
        return None

    @property
    def uses_countries(self) -> bool:
        """Whether the filter constrains countries (listing or excluding them)."""
        return self.countries is not None or self.exclude_countries is not None

    @property
    def uses_affinities(self) -> bool:
        """Whether the filter constrains audience affinities in any way."""
        return (
            self.affinities is not None
            or self.affinities_all is not None
            or self.exclude_affinities is not None
        )

    def constraints(self) -> dict[Dimension, tuple[str, ...]]:
        """The any-of constraints keyed by the dimension they restrict."""
        pairs = {
            Dimension.TITLE: self.title_ids,
            Dimension.ASSET: self.asset_ids,
            Dimension.ASSET_TYPE: self.asset_types,
            Dimension.COUNTRY: self.countries,
            Dimension.AFFINITY: self.affinities,
        }
        return {dim: values for dim, values in pairs.items() if values is not None}

    def exclusions(self) -> dict[str, tuple[str, ...]]:
        """The constraints beyond any-of lists, keyed by field name (set ones only)."""
        pairs = {
            "exclude_countries": self.exclude_countries,
            "affinities_all": self.affinities_all,
            "exclude_affinities": self.exclude_affinities,
        }
        return {name: values for name, values in pairs.items() if values is not None}

    def replace_assets(self, asset_ids: Iterable[str]) -> Filter:
        """The same filter restricted to the given assets (used by loaders to batch keys)."""
        return dataclasses.replace(self, asset_ids=tuple(asset_ids))

    def replace_titles(self, title_ids: Iterable[str]) -> Filter:
        """The same filter restricted to the given titles (used by loaders to batch keys)."""
        return dataclasses.replace(self, title_ids=tuple(title_ids))


@dataclass(frozen=True, slots=True)
class MetricQuery:
    """One question for a backend; the unit of batching, caching and compilation."""

    interval: Interval
    granularity: Granularity = Granularity.ALL
    filter: Filter = field(default_factory=Filter)
    group_by: tuple[Dimension, ...] = ()
    metrics: tuple[Metric, ...] = ALL_METRICS
    # groups with fewer impressions are left out of the answer (0 keeps every group); a
    # backend can then skip merging their sketches (rankings over the whole catalog)
    min_impressions: int = 0

    def __post_init__(self) -> None:
        if len(set(self.group_by)) != len(self.group_by):
            raise BadUserInput(f"group_by repeats a dimension: {list(self.group_by)}")
        object.__setattr__(self, "metrics", tuple(m for m in Metric if m in set(self.metrics)))
        if not self.metrics:
            raise BadUserInput("a query needs at least one metric")
        if self.min_impressions < 0:
            raise BadUserInput(f"min_impressions must be >= 0, got {self.min_impressions}")
        if self.min_impressions > 0 and Metric.IMPRESSIONS not in self.metrics:
            raise BadUserInput("min_impressions needs the impressions metric")

    @property
    def uses_affinities(self) -> bool:
        """Whether the query filters or groups by audience affinity."""
        return self.filter.uses_affinities or Dimension.AFFINITY in self.group_by

    @property
    def uses_countries(self) -> bool:
        """Whether the query filters or groups by country."""
        return self.filter.uses_countries or Dimension.COUNTRY in self.group_by

    @property
    def matches_nothing(self) -> bool:
        """Whether no event can match the query (see Filter.matches_nothing): every
        backend answers it with no rows, without reading anything."""
        return self.filter.matches_nothing

    def cache_key(self) -> str:
        """A canonical, stable text form of the query (for result caches)."""
        return json.dumps(
            {
                "i": [self.interval.start.isoformat(), self.interval.end.isoformat()],
                "g": self.granularity.value,
                "f": {d.value: list(v) for d, v in self.filter.constraints().items()},
                "x": {name: list(v) for name, v in self.filter.exclusions().items()},
                "b": [d.value for d in self.group_by],
                "m": [m.value for m in self.metrics],
                "h": self.min_impressions,
            },
            sort_keys=True,
            separators=(",", ":"),
        )
