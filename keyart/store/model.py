"""The immutable content of one snapshot: metadata, all-time metrics, availability, options."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType

from keyart.insights.alltime import TitleOutliers
from keyart.insights.appeal import Appeal
from keyart.query.results import MetricValues


@dataclass(frozen=True, slots=True)
class TitleInfo:
    """Metadata of one title; `asset_ids` in a stable order (type, then id)."""

    id: str
    name: str
    kind: str  # series, film, live, game
    genres: tuple[str, ...]
    launch_date: date | None
    asset_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AssetInfo:
    """Metadata of one asset."""

    id: str
    title_id: str
    type: str  # artwork, video
    name: str
    tags: tuple[str, ...]
    media_url: str | None


@dataclass(frozen=True, slots=True)
class FilterOptions:
    """The countries and affinities a title's data can be filtered by."""

    countries: tuple[str, ...]
    affinities: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One published version of everything the API serves without an OLAP query."""

    version: str
    created_at: datetime
    warehouse_version: str
    titles: Mapping[str, TitleInfo]
    assets: Mapping[str, AssetInfo]
    asset_alltime: Mapping[str, MetricValues]
    title_alltime: Mapping[str, MetricValues]
    asset_countries: Mapping[str, tuple[str, ...]]
    title_countries: Mapping[str, tuple[str, ...]]
    title_filter_options: Mapping[str, FilterOptions]
    affinities: tuple[str, ...]
    title_order: tuple[str, ...]  # titles sorted by name, then id: the `titles` page order
    # all-time insights, computed at publish (keyart.insights.alltime.precompute)
    title_outliers: Mapping[str, TitleOutliers] = field(
        default_factory=lambda: MappingProxyType({})
    )
    asset_appeal: Mapping[str, Appeal] = field(default_factory=lambda: MappingProxyType({}))
    # the days the warehouse version holds, ascending (empty in blobs written before it was kept)
    days: tuple[date, ...] = ()


@dataclass(frozen=True, slots=True)
class DataRange:
    """Which days a snapshot's data covers: first and last day, and how many days hold data."""

    first: date
    last: date
    days: int

    @classmethod
    def of(cls, snapshot: Snapshot) -> DataRange | None:
        """The range of a snapshot; None when it names no days."""
        if not snapshot.days:
            return None
        return cls(snapshot.days[0], snapshot.days[-1], len(snapshot.days))
