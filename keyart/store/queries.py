"""Lookups the API makes against one snapshot: titles, assets, title pages with search and
Relay cursors, a title's assets, all-time metrics and availability."""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from keyart.errors import BadUserInput
from keyart.query.results import MetricValues
from keyart.store.model import AssetInfo, FilterOptions, Snapshot, TitleInfo

_CURSOR_PREFIX = "title:"
_LAUNCH_CURSOR_PREFIX = "title-launch:"
_NO_METRICS = MetricValues()

# how a titles page is ordered: by name, or newest launch first
TitleOrder = Literal["name", "launch_date_desc"]


def title_sort_key(name: str, title_id: str) -> tuple[str, str, str]:
    """The order of the `titles` page: by name ignoring case, then by exact name, then id."""
    return (name.casefold(), name, title_id)


def launch_sort_key(
    launch_date: date | None, name: str, title_id: str
) -> tuple[bool, int, str, str, str]:
    """The newest-launch-first order: launch date descending, titles without one last,
    then as in the name order."""
    day = 0 if launch_date is None else -launch_date.toordinal()
    return (launch_date is None, day, *title_sort_key(name, title_id))


@dataclass(frozen=True, slots=True)
class TitleCriteria:
    """Which titles a list keeps: kinds and genres are any-of lists (None: any), launch
    dates an inclusive range (a title without a launch date is dropped by either bound)."""

    kinds: Collection[str] | None = None
    genres: Collection[str] | None = None
    launched_after: date | None = None
    launched_before: date | None = None

    def __post_init__(self) -> None:
        after, before = self.launched_after, self.launched_before
        if after is not None and before is not None and after > before:
            raise BadUserInput(
                f"launchedAfter {after.isoformat()} is later than launchedBefore "
                f"{before.isoformat()}"
            )

    @property
    def unconstrained(self) -> bool:
        """Whether every title matches."""
        return (
            self.kinds is None
            and self.genres is None
            and self.launched_after is None
            and self.launched_before is None
        )

    def matches(self, info: TitleInfo) -> bool:
        """Whether a title meets every criterion."""
        if self.kinds is not None and info.kind not in self.kinds:
            return False
        if self.genres is not None and not any(g in self.genres for g in info.genres):
            return False
        launched = info.launch_date
        if self.launched_after is not None and (launched is None or launched < self.launched_after):
            return False
        return self.launched_before is None or (
            launched is not None and launched <= self.launched_before
        )


def matching_titles(snapshot: Snapshot, criteria: TitleCriteria) -> list[str]:
    """The ids of the titles meeting `criteria`, in name order."""
    titles = snapshot.titles
    if criteria.unconstrained:
        return list(snapshot.title_order)
    return [t for t in snapshot.title_order if criteria.matches(titles[t])]


def title(snapshot: Snapshot, title_id: str) -> TitleInfo | None:
    """A title by id; None when the snapshot does not hold it."""
    return snapshot.titles.get(title_id)


def asset(snapshot: Snapshot, asset_id: str) -> AssetInfo | None:
    """An asset by id; None when the snapshot does not hold it."""
    return snapshot.assets.get(asset_id)


def title_assets(
    snapshot: Snapshot, title_id: str, asset_type: str | None = None
) -> list[AssetInfo]:
    """A title's assets in its stable order (type, then id), optionally of one type only
    ("artwork" or "video"); empty for an unknown title."""
    info = snapshot.titles.get(title_id)
    if info is None:
        return []
    assets = [snapshot.assets[a] for a in info.asset_ids]
    if asset_type is None:
        return assets
    return [a for a in assets if a.type == asset_type]


def asset_alltime(snapshot: Snapshot, asset_id: str) -> MetricValues:
    """All-time metrics of an asset (zero when it has no data)."""
    return snapshot.asset_alltime.get(asset_id, _NO_METRICS)


def title_alltime(snapshot: Snapshot, title_id: str) -> MetricValues:
    """All-time metrics of a title, distinct across its assets (zero when it has no data)."""
    return snapshot.title_alltime.get(title_id, _NO_METRICS)


def asset_availability(snapshot: Snapshot, asset_id: str) -> tuple[str, ...]:
    """The sorted countries where an asset had impressions."""
    return snapshot.asset_countries.get(asset_id, ())


def title_availability(snapshot: Snapshot, title_id: str) -> tuple[str, ...]:
    """The sorted countries where any asset of a title had impressions."""
    return snapshot.title_countries.get(title_id, ())


def title_filter_options(snapshot: Snapshot, title_id: str) -> FilterOptions | None:
    """The countries and affinities present in a title's data; None without data."""
    return snapshot.title_filter_options.get(title_id)


@dataclass(frozen=True, slots=True)
class TitleEdge:
    """One title of a page and the cursor pointing at it."""

    cursor: str
    node: TitleInfo


@dataclass(frozen=True, slots=True)
class TitlePage:
    """A Relay connection page of titles."""

    edges: tuple[TitleEdge, ...]
    has_next_page: bool
    end_cursor: str | None
    total_count: int  # titles matching the search and criteria, over all pages


def encode_cursor(info: TitleInfo, order: TitleOrder = "name") -> str:
    """The opaque cursor of a title: its sort position in the page order (name and id;
    and launch date for the launch order), so a cursor keeps working across snapshot
    versions even when the title itself is gone."""
    if order == "name":
        raw = _CURSOR_PREFIX + json.dumps([info.name, info.id], ensure_ascii=False)
    else:
        launched = None if info.launch_date is None else info.launch_date.isoformat()
        raw = _LAUNCH_CURSOR_PREFIX + json.dumps([launched, info.name, info.id], ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii")


def decode_cursor(cursor: str, order: TitleOrder = "name") -> tuple[Any, ...]:
    """The sort key a cursor points at in the page order; BadUserInput when it is not one
    of ours, or was made for the other order."""
    prefix = _CURSOR_PREFIX if order == "name" else _LAUNCH_CURSOR_PREFIX
    try:
        raw = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("utf-8")
        if not raw.startswith(prefix):
            raise ValueError("wrong prefix")
        fields = json.loads(raw[len(prefix) :])
        launched = None
        if order != "name":
            launched, *fields = fields
            launched = None if launched is None else date.fromisoformat(launched)
        name, title_id = fields
        if not isinstance(name, str) or not isinstance(title_id, str):
            raise ValueError("wrong content")
    except (ValueError, TypeError, UnicodeError, binascii.Error) as exc:
        raise BadUserInput(
            f"invalid cursor {cursor!r}: not a titles cursor of this orderBy"
        ) from exc
    if order == "name":
        return title_sort_key(name, title_id)
    return launch_sort_key(launched, name, title_id)


def titles_page(
    snapshot: Snapshot,
    first: int = 50,
    after: str | None = None,
    search: str | None = None,
    criteria: TitleCriteria | None = None,
    order_by: TitleOrder = "name",
) -> TitlePage:
    """Up to `first` titles in page order after the `after` cursor, optionally only those
    whose name contains `search` (case-insensitive) and that meet `criteria`; ordered by
    name or by launch date (newest first). `total_count` counts every matching title."""
    if first < 0:
        raise BadUserInput(f"first must be >= 0, got {first}")
    titles = snapshot.titles
    order: Sequence[str] = (
        snapshot.title_order if criteria is None else matching_titles(snapshot, criteria)
    )
    if search:
        needle = search.casefold()
        order = [t for t in order if needle in titles[t].name.casefold()]

    def key(t: str) -> tuple[Any, ...]:
        info = titles[t]
        if order_by == "name":
            return title_sort_key(info.name, info.id)
        return launch_sort_key(info.launch_date, info.name, info.id)

    if order_by != "name":
        order = sorted(order, key=key)
    start = 0
    if after is not None:
        start = bisect.bisect_right(order, decode_cursor(after, order_by), key=key)
    chosen = order[start : start + first]
    edges = tuple(TitleEdge(encode_cursor(titles[t], order_by), titles[t]) for t in chosen)
    return TitlePage(
        edges=edges,
        has_next_page=start + first < len(order),
        end_cursor=edges[-1].cursor if edges else None,
        total_count=len(order),
    )


__all__ = [
    "TitleCriteria",
    "TitleEdge",
    "TitleOrder",
    "TitlePage",
    "asset",
    "asset_alltime",
    "asset_availability",
    "decode_cursor",
    "encode_cursor",
    "launch_sort_key",
    "matching_titles",
    "title",
    "title_alltime",
    "title_assets",
    "title_availability",
    "title_filter_options",
    "title_sort_key",
    "titles_page",
]
